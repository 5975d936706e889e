import Config

# Switchboard's own settings, with their defaults. Mix reads only the root
# project's config files: an application that depends on Switchboard sets
# these in its own config (config/runtime.exs in a release), under the
# same keys.

# The tokio runtime that runs every call inside the NIF. Read when the
# :switchboard application starts (so config/runtime.exs applies), before
# the first call starts the runtime.
config :switchboard, :runtime,
  # Worker threads; nil starts one per core. An integer in 1..256.
  worker_threads: nil,
  # How much lower than the VM's own the OS priority of those threads is,
  # 0..19. Raise it (10, say) where the VM shares few cores with many
  # streams at once: a scheduler preempted by a busy runtime thread stalls
  # every process on it.
  nice_increment: 0

# Logs of failures, read at each call: each failed attempt at the first
# level, each call that ends in an error at the second. A level may be
# false, and `log: false` turns both off. See the README's Observability.
config :switchboard, log: [attempt: :warning, call: :error]

# Compile time, read by Switchboard's Mix compiler: also build the mock LLM
# server (Switchboard.Mock) into priv/native. It is always built when
# Switchboard is the project being built; an application that depends on
# Switchboard sets this in its config/test.exs to test with the mock.
# config :switchboard, build_mock: true

# Fixed limits (not settings; see the README's Limits section): answers of at
# most 32 MiB, error bodies read up to 64 KiB, strategies nested at most 32
# deep, at most 64 unacknowledged stream messages per call unless a call
# sets :window.

import_config "#{config_env()}.exs"
