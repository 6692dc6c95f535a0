# bench/crd: creates/s of a custom resource against a ConfigMap (run by bench/run.sh).
$(BUILD)/crd-bench: $(BUILD)/obj/bench/crd/crd_bench.o $(BUILD)/obj/bench/lib/bench.o $(BUILD)/libk1s.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
bench: $(BUILD)/crd-bench
