# bench/api: the API server load generator (run by bench/run.sh).
$(BUILD)/api-bench: $(BUILD)/obj/bench/api/api_bench.o $(BUILD)/obj/bench/lib/bench.o $(BUILD)/libk1s.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
bench: $(BUILD)/api-bench
