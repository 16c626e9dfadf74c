"""The test kit: a real Synapse, the bridge in-process or as a process, real Matrix clients."""
