defmodule Switchboard.Application do
  @moduledoc false
  # Passes `config :switchboard, :runtime, ...` to the NIF when the
  # application starts: after a release has applied config/runtime.exs,
  # before the first call (which starts the tokio runtime) in the usual
  # order. A call made earlier, with the application not started, still
  # works; the runtime then runs with the defaults and this logs a warning.

  use Application

  require Logger

  alias Switchboard.Native

  @keys [:worker_threads, :nice_increment]

  @impl true
  def start(_type, _args) do
    try do
      configure_runtime(Application.get_env(:switchboard, :runtime, []))
    rescue
      # A NIF that did not load must not stop the host application from
      # booting; every call raises with the reason instead.
      e in RuntimeError -> Logger.error("Switchboard: " <> Exception.message(e))
    end

    Switchboard.Telemetry.validate_log!(Application.get_env(:switchboard, :log, []))

    dispatchers =
      Enum.map(Switchboard.Telemetry.dispatcher_names(), &{Switchboard.Telemetry.Dispatcher, &1})

    Supervisor.start_link(dispatchers, strategy: :one_for_one, name: Switchboard.Supervisor)
  end

  @doc false
  # Validates the settings (an `ArgumentError` names the bad one) and hands
  # them to the NIF. Returns the settings the runtime will use.
  @spec configure_runtime(keyword()) :: map()
  def configure_runtime(settings) do
    wanted = validate!(settings)

    case Native.runtime_configure(wanted) do
      :ok ->
        wanted

      {:error, :already_started} ->
        in_force = Native.runtime_settings()

        unless applied?(wanted, in_force) do
          Logger.warning(
            "Switchboard: the runtime was started (by a call) before the :switchboard " <>
              "application, so config :switchboard, :runtime, #{inspect(settings)} is not " <>
              "applied; in force: #{inspect(Map.take(in_force, @keys))}"
          )
        end

        Map.take(in_force, @keys)
    end
  end

  # `worker_threads: nil` (one per core) matches whatever count is running.
  defp applied?(wanted, in_force) do
    wanted.nice_increment == in_force.nice_increment and
      wanted.worker_threads in [nil, in_force.worker_threads]
  end

  defp validate!(settings) do
    unless Keyword.keyword?(settings) do
      raise ArgumentError,
            "config :switchboard, :runtime must be a keyword list, got: #{inspect(settings)}"
    end

    for {key, _} <- settings, key not in @keys do
      raise ArgumentError,
            "unknown key #{inspect(key)} in config :switchboard, :runtime " <>
              "(expected :worker_threads or :nice_increment)"
    end

    threads = Keyword.get(settings, :worker_threads)
    nice = Keyword.get(settings, :nice_increment, 0)

    unless is_nil(threads) or (is_integer(threads) and threads in 1..256) do
      raise ArgumentError,
            "config :switchboard, :runtime, worker_threads: must be an integer in 1..256 " <>
              "or nil (one per core), got: #{inspect(threads)}"
    end

    unless is_integer(nice) and nice in 0..19 do
      raise ArgumentError,
            "config :switchboard, :runtime, nice_increment: must be an integer in 0..19, " <>
              "got: #{inspect(nice)}"
    end

    %{worker_threads: threads, nice_increment: nice}
  end
end
