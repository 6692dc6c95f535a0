# build/k1s-shim: the container shim and pause process as a small static
# program (agent/shim/main.c; see agent/runtime.h). Part of `all`; the agent
# uses it when it sits beside k1s, else `k1s shim`.
SHIM_OBJS := $(BUILD)/obj/agent/shim/main.o $(BUILD)/obj/agent/runtime_shim.o \
	$(BUILD)/obj/agent/runtime_attach.o $(BUILD)/obj/agent/runtime_log.o $(BUILD)/obj/agent/runtime_util.o \
	$(BUILD)/obj/lib/util.o $(BUILD)/obj/lib/log.o $(BUILD)/obj/cmd/pause.o

all: $(BUILD)/k1s-shim

$(BUILD)/k1s-shim: $(SHIM_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -static -o $@ $^

-include $(BUILD)/obj/agent/shim/main.d
