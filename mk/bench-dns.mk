# bench/dns: the DNS load generator, and dns-serve (tests/e2e/dns-serve.c),
# the zone-from-JSON server that tests/e2e/dns.test.sh and bench/dns run.
$(BUILD)/dns-serve: $(BUILD)/obj/tests/e2e/dns-serve.o $(BUILD)/libk1s.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/dns-bench: $(BUILD)/obj/bench/dns/dns_bench.o
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
bench: $(BUILD)/dns-bench $(BUILD)/dns-serve
# tests/fuzz/dns_fuzz.c includes dns/*.c (mk/fuzz.mk builds lib/ server/
# store/ only): rebuild it when they change.
$(BUILD)/fuzz/dns_fuzz: $(wildcard dns/*.c dns/*.h)
# bench/dns/cluster.sh: the DNS fed from a real API server (RSS, update latency)
$(BUILD)/dns-feed-bench: $(BUILD)/obj/bench/dns/feed_bench.o $(BUILD)/libk1s.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
bench: $(BUILD)/dns-feed-bench
# header dependencies of these objects (the main Makefile includes only its own)
-include $(BUILD)/obj/tests/e2e/dns-serve.d $(BUILD)/obj/bench/dns/feed_bench.d $(BUILD)/obj/bench/dns/dns_bench.d
