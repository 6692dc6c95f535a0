# bench/sched: scheduler binding throughput and node-silent-to-eviction time
# (run by bench/run.sh).
$(BUILD)/sched-bench: $(BUILD)/obj/bench/sched/sched_bench.o $(BUILD)/obj/bench/lib/bench.o $(BUILD)/libk1s.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
bench: $(BUILD)/sched-bench
