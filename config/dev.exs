import Config

# The demo (`make demo`) runs with the defaults of config.exs.
