defmodule Switchboard.Native do
  @moduledoc false
  # NIF stubs, replaced by native/switchboard_nif when it loads. If it does
  # not load, every stub raises with the reason instead of the VM refusing
  # to load the module, so the failure names the missing file.

  @on_load :load_nif

  def load_nif do
    path = Path.join([:code.priv_dir(:switchboard), "native", "switchboard_nif"])

    case :erlang.load_nif(String.to_charlist(path), runtime_settings()) do
      :ok ->
        :ok

      {:error, {_reason, text}} ->
        :persistent_term.put({__MODULE__, :load_error}, "#{path}.so: #{text}")
        :ok
    end
  end

  # `config :switchboard, :runtime, worker_threads: 4, nice_increment: 10`
  # (see the Switchboard moduledoc); read once, when the NIF loads.
  defp runtime_settings do
    settings = Application.get_env(:switchboard, :runtime, [])

    %{
      worker_threads: Keyword.get(settings, :worker_threads),
      nice_increment: Keyword.get(settings, :nice_increment, 10)
    }
  end

  def registry_new(_config), do: not_loaded()
  def registry_add_client(_handle, _name, _provider, _options, _retry_policy), do: not_loaded()
  def registry_set_primary(_handle, _name), do: not_loaded()
  def registry_add_retry_policy(_handle, _name, _policy), do: not_loaded()
  def call_start(_registry, _prompt, _opts, _receiver, _stream_window), do: not_loaded()
  def call_start_dirty(_registry, _prompt, _opts, _receiver, _stream_window), do: not_loaded()

  def call_cancel(_call), do: not_loaded()
  def call_ack(_call, _count), do: not_loaded()
  def call_finished(_call), do: not_loaded()
  def scheduler_timing(_reset), do: not_loaded()
  def scheduler_timing_detail(_on), do: not_loaded()
  def malloc_in_use, do: not_loaded()

  defp not_loaded do
    reason = :persistent_term.get({__MODULE__, :load_error}, "unknown reason")

    raise RuntimeError,
          "the Switchboard NIF is not loaded (#{reason}); " <>
            "run `mix compile` (it builds native/ with cargo) and check that cargo succeeded"
  end
end
