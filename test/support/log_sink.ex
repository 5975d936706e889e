defmodule Switchboard.LogSink do
  @moduledoc """
  A `:logger` handler that keeps every log event, formatted as the default
  handler would print it (message and metadata), so a test can search all
  of what was logged, by any process, while it ran.
  """

  @doc "Adds a handler; returns its id for `text/1` and `detach/1`."
  def attach do
    id = :"switchboard_log_sink_#{System.unique_integer([:positive])}"
    table = :ets.new(id, [:public, :duplicate_bag])
    formatter = {:logger_formatter, %{single_line: false, template: [:msg, " ", :metadata]}}
    :ok = :logger.add_handler(id, __MODULE__, %{config: %{table: table}, formatter: formatter})
    id
  end

  @doc "Everything logged since `attach/0`, one event a line."
  def text(id) do
    {:ok, %{config: %{table: table}}} = :logger.get_handler_config(id)
    table |> :ets.tab2list() |> Enum.map_join("\n", &elem(&1, 1))
  end

  @doc "Removes the handler."
  def detach(id) do
    case :logger.get_handler_config(id) do
      {:ok, %{config: %{table: table}}} ->
        :logger.remove_handler(id)
        :ets.delete(table)

      _ ->
        :ok
    end

    :ok
  end

  @doc false
  # The :logger handler callback: runs in the process that logged.
  def log(event, %{config: %{table: table}, formatter: {module, config}}) do
    text =
      try do
        IO.iodata_to_binary(module.format(event, config))
      rescue
        _ -> inspect(event, limit: :infinity, printable_limit: :infinity)
      end

    # The raw event too: a report's terms as they are, not only as printed.
    raw = inspect(event.msg, limit: :infinity, printable_limit: :infinity)
    :ets.insert(table, {System.unique_integer(), text <> "\n" <> raw})
    :ok
  end
end
