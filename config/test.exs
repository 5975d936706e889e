import Config

# The suite runs the mock server beside the VM on the same cores; keep the
# runtime at the VM's priority so timing tests see the same machine CI does.
config :switchboard, :runtime, worker_threads: nil, nice_increment: 0

# Warnings and errors only: tests that expect a log capture it.
config :logger, level: :warning
