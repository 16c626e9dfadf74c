"""`python -m bench`: latency, throughput and provisioning measurements against a real Synapse."""
