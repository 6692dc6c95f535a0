# bench/storage: snapshot and restore time of local volumes (btrfs pool)
# next to cp -a and tar of the same data (run by bench/run.sh).
BENCH_STORAGE_SRCS := $(wildcard bench/storage/*.c)
BENCH_STORAGE_OBJS := $(BENCH_STORAGE_SRCS:%.c=$(BUILD)/obj/%.o)

$(BUILD)/bench-storage: $(BENCH_STORAGE_OBJS) $(BUILD)/libk1s.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bench: $(BUILD)/bench-storage

-include $(BENCH_STORAGE_OBJS:.o=.d)
