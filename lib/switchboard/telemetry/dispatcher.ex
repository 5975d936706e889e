defmodule Switchboard.Telemetry.Dispatcher do
  @moduledoc false
  # Runs the `:telemetry` handlers and writes the logs of the calls whose
  # events the NIF sends here (see `Switchboard.Telemetry`). One per
  # scheduler, started by the application; each call's events go to one of
  # them, in order.

  use GenServer

  require Logger

  @spec start_link(atom()) :: GenServer.on_start()
  def start_link(name), do: GenServer.start_link(__MODULE__, nil, name: name)

  @spec child_spec(atom()) :: Supervisor.child_spec()
  def child_spec(name), do: %{id: name, start: {__MODULE__, :start_link, [name]}}

  @impl true
  def init(nil) do
    {:ok, nil}
  end

  @impl true
  def handle_info({:"$switchboard_event", ref, context, event}, state) do
    # `:telemetry` already guards each handler; this guards the logging, so
    # one bad event never costs the events of other calls.
    try do
      Switchboard.Telemetry.dispatch(ref, context, event)
    catch
      kind, reason ->
        Logger.error(
          "Switchboard: an event could not be dispatched: " <>
            Exception.format(kind, reason, __STACKTRACE__)
        )
    end

    {:noreply, state}
  end

  def handle_info(_other, state), do: {:noreply, state}
end
