# bench/net: the overlay's control plane (bench-net) and pod-to-pod data
# plane (bench/net/run.sh, iperf3) — both run by bench/run.sh.
BENCH_NET_SRCS := $(wildcard bench/net/*.c)
BENCH_NET_OBJS := $(BENCH_NET_SRCS:%.c=$(BUILD)/obj/%.o)

$(BUILD)/bench-net: $(BENCH_NET_OBJS) $(BUILD)/libk1s.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: $(BUILD)/bench-net

-include $(BENCH_NET_OBJS:.o=.d)
