defmodule Switchboard.Native do
  @moduledoc false
  # NIF stubs, replaced by native/switchboard_nif when it loads. If it does
  # not load, every stub raises with the reason instead of the VM refusing
  # to load the module, so the failure names the missing file.
  #
  # Nothing is configured here: `@on_load` runs when the module is loaded,
  # which in a release is before config/runtime.exs is applied. The runtime
  # settings reach the NIF from `Switchboard.Application.start/2`.

  @on_load :load_nif

  def load_nif do
    path = Path.join([:code.priv_dir(:switchboard), "native", "switchboard_nif"])

    case :erlang.load_nif(String.to_charlist(path), 0) do
      :ok ->
        :ok

      {:error, {_reason, text}} ->
        :persistent_term.put({__MODULE__, :load_error}, "#{path}.so: #{text}")
        :ok
    end
  end

  def registry_new(_config), do: not_loaded()
  # Same result as registry_new/1; keeps the handle's client states and credential caches.
  def registry_reload(_handle, _config), do: not_loaded()
  def registry_add_client(_handle, _name, _provider, _options, _retry_policy), do: not_loaded()
  def registry_set_primary(_handle, _name), do: not_loaded()
  def registry_add_retry_policy(_handle, _name, _policy), do: not_loaded()
  # `%{client_name => %{circuit: ..., recent_failures: n, ...}}` for leaves.
  def registry_health(_handle), do: not_loaded()

  # `observe`: `nil`, or which events to send to which dispatcher
  # (`Switchboard.Telemetry.observe/2`).
  def call_start(_registry, _prompt, _opts, _receiver, _stream_window, _observe),
    do: not_loaded()

  def call_start_dirty(_registry, _prompt, _opts, _receiver, _stream_window, _observe),
    do: not_loaded()

  def call_cancel(_call), do: not_loaded()
  def call_ack(_call, _count), do: not_loaded()
  def call_state(_call), do: not_loaded()

  # `%{worker_threads: pos_integer() | nil, nice_increment: 0..19}` ->
  # `:ok | {:error, :already_started | :invalid_settings}`
  def runtime_configure(_settings), do: not_loaded()

  @doc """
  The tokio runtime's settings in force: `%{worker_threads: n | nil,
  nice_increment: n, started: boolean}`. Once started, `worker_threads` is
  the number of worker threads running; before, the number configured
  (`nil`: one per core).
  """
  def runtime_settings, do: not_loaded()

  # The benchmarks' instruments, in the NIF only when it is built with the
  # `bench` cargo feature (`SWITCHBOARD_NIF_FEATURES=bench`, set by `make bench`).
  def scheduler_timing(_reset), do: bench_only(:scheduler_timing, 1)
  def scheduler_timing_detail(_on), do: bench_only(:scheduler_timing_detail, 1)
  def malloc_in_use, do: bench_only(:malloc_in_use, 0)
  def malloc_held, do: bench_only(:malloc_held, 0)

  defp not_loaded do
    reason = :persistent_term.get({__MODULE__, :load_error}, "unknown reason")

    raise RuntimeError,
          "the Switchboard NIF is not loaded (#{reason}); " <>
            "run `mix compile` (it builds native/ with cargo) and check that cargo succeeded"
  end

  # Reached when the NIF loaded without this function (or did not load).
  defp bench_only(name, arity) do
    if :persistent_term.get({__MODULE__, :load_error}, nil), do: not_loaded()

    raise RuntimeError,
          "Switchboard.Native.#{name}/#{arity}: the NIF was built without the bench feature; " <>
            "run `make bench`, or build with SWITCHBOARD_NIF_FEATURES=bench mix compile"
  end
end
