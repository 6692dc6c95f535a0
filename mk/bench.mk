# bench/store: the datastore benchmark (k1s store vs etcd vs raw SQLite),
# run by bench/run.sh. Its sources are found by wildcard like the modules'.
BENCH_STORE_SRCS := $(wildcard bench/store/*.c)
BENCH_STORE_OBJS := $(BENCH_STORE_SRCS:%.c=$(BUILD)/obj/%.o)

$(BUILD)/bench-store: $(BENCH_STORE_OBJS) $(BUILD)/libk1s.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: $(BUILD)/bench-store

-include $(BENCH_STORE_OBJS:.o=.d)
