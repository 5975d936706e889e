defmodule :telemetry do
  @moduledoc """
  A minimal stand-in for the `:telemetry` library (no Hex package can be
  fetched here), compiled only in the test environment and also loaded by
  the benchmarks. It behaves as the real one does where Switchboard and
  its tests rely on it: handlers run in the process that calls
  `execute/3`, in no set order; a handler that raises, exits or throws is
  detached and logged at `:error`; `list_handlers/1` matches by prefix.

  Handlers live in a public ETS table owned by a process that outlives any
  test.
  """

  require Logger

  @table :switchboard_test_telemetry_handlers

  @spec attach(term(), [atom()], function(), term()) :: :ok | {:error, :already_exists}
  def attach(id, event, function, config), do: attach_many(id, [event], function, config)

  @spec attach_many(term(), [[atom()]], function(), term()) :: :ok | {:error, :already_exists}
  def attach_many(id, events, function, config) when is_function(function, 4) do
    table = table()

    # A short critical section: two tests never attach the same id.
    :global.trans({__MODULE__, id}, fn ->
      if :ets.match(table, {:_, id, :_, :_}) == [] do
        :ets.insert(table, for(event <- events, do: {event, id, function, config}))
        :ok
      else
        {:error, :already_exists}
      end
    end)
  end

  @spec detach(term()) :: :ok | {:error, :not_found}
  def detach(id) do
    case :ets.select_delete(table(), [{{:_, id, :_, :_}, [], [true]}]) do
      0 -> {:error, :not_found}
      _ -> :ok
    end
  end

  @spec list_handlers([atom()]) :: [map()]
  def list_handlers(prefix) when is_list(prefix) do
    if :ets.whereis(@table) == :undefined do
      []
    else
      # As the real one: one match over the table, the prefix bound.
      pattern = {prefix_pattern(prefix), :_, :_, :_}

      for {event, id, function, config} <- :ets.match_object(@table, pattern),
          do: %{id: id, event_name: event, function: function, config: config}
    end
  end

  @spec execute([atom()], map(), map()) :: :ok
  def execute(event, measurements, metadata) when is_map(measurements) and is_map(metadata) do
    handlers = if :ets.whereis(@table) == :undefined, do: [], else: :ets.lookup(@table, event)

    for {^event, id, function, config} <- handlers do
      try do
        function.(event, measurements, metadata, config)
      catch
        kind, reason ->
          detach(id)

          Logger.error(
            "Handler #{inspect(id)} has failed and has been detached. " <>
              Exception.format(kind, reason, __STACKTRACE__)
          )
      end
    end

    :ok
  end

  defp prefix_pattern([]), do: :_
  defp prefix_pattern([segment | rest]), do: [segment | prefix_pattern(rest)]

  defp table do
    case :ets.whereis(@table) do
      :undefined -> create_table()
      _ref -> @table
    end
  end

  defp create_table do
    parent = self()

    {pid, monitor} =
      spawn_monitor(fn ->
        try do
          :ets.new(@table, [:bag, :public, :named_table, read_concurrency: true])
          send(parent, {:created, self()})
          Process.sleep(:infinity)
        rescue
          # Another process made it first.
          ArgumentError -> send(parent, {:created, self()})
        end
      end)

    receive do
      {:created, ^pid} -> Process.demonitor(monitor, [:flush])
    end

    @table
  end
end
