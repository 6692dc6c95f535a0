# bench/pods: pod start latency and agent memory (a shell benchmark run by
# bench/run.sh; it needs only build/k1s, runc, kubectl and root).
bench: $(BUILD)/k1s
