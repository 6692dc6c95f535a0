# bench/proxy: the service proxy benchmark (run by bench/run.sh); its
# `apply` mode also drives tests/e2e/proxy.test.sh.
BENCH_PROXY_SRCS := $(wildcard bench/proxy/*.c)
BENCH_PROXY_OBJS := $(BENCH_PROXY_SRCS:%.c=$(BUILD)/obj/%.o)

$(BUILD)/bench-proxy: $(BENCH_PROXY_OBJS) $(BUILD)/libk1s.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: $(BUILD)/bench-proxy

-include $(BENCH_PROXY_OBJS:.o=.d)
