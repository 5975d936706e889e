# The Switchboard agent example: a GenServer runs a tool-calling loop. It
# asks a model how this BEAM node is doing, offers it a tool that reads live
# metrics, runs the tool calls the model requests, and ends with a health
# report checked against a JSON Schema.
#
#   make agent                        # bundled mock server, no key needed
#   ANTHROPIC_API_KEY=... make agent  # Claude Haiku 4.5 for real
#   OPENAI_API_KEY=... make agent     # no Anthropic key: gpt-4o-mini for real
#
# On the mock the model's words are scripted (the tool calls it makes and the
# report it writes); the tool calls are real and read this node's metrics.

defmodule AgentExample.Metrics do
  @moduledoc "The tool the model may call: live metrics of this node."

  @doc "The tool as the call's `tools:` option declares it."
  def tool do
    %{
      name: "beam_metrics",
      description:
        "Reads a live metric of the BEAM node this agent runs on. " <>
          "memory: bytes by kind; processes: count and limit; run_queues: tasks waiting per scheduler.",
      parameters: %{
        type: "object",
        properties: %{metric: %{type: "string", enum: ["memory", "processes", "run_queues"]}},
        required: ["metric"],
        additionalProperties: false
      }
    }
  end

  @doc "Runs one call of the tool; the result goes back to the model as JSON."
  def run(%Switchboard.ToolCall{name: "beam_metrics", arguments: %{"metric" => metric}}) do
    read(metric)
  end

  def run(%Switchboard.ToolCall{name: name}), do: %{"error" => "no tool named #{name}"}

  defp read("memory"), do: Map.new(:erlang.memory(), fn {k, v} -> {to_string(k), v} end)

  defp read("processes") do
    %{
      "count" => :erlang.system_info(:process_count),
      "limit" => :erlang.system_info(:process_limit)
    }
  end

  defp read("run_queues") do
    %{
      "total" => :erlang.statistics(:total_run_queue_lengths),
      "per_scheduler" => :erlang.statistics(:run_queue_lengths)
    }
  end

  defp read(other), do: %{"error" => "unknown metric #{other}"}
end

defmodule AgentExample.Doctor do
  @moduledoc """
  Diagnoses the node: one conversation per `diagnose/0`, each model turn an
  async Switchboard call, so the GenServer never blocks while a model thinks.
  """
  use GenServer

  alias AgentExample.Metrics

  @max_turns 6

  @report_schema %{
    type: "object",
    properties: %{
      status: %{type: "string", enum: ["healthy", "degraded", "critical"]},
      summary: %{type: "string"},
      total_memory_mb: %{type: "number"},
      process_count: %{type: "integer"},
      run_queue: %{type: "integer"},
      findings: %{type: "array", items: %{type: "string"}}
    },
    required: ["status", "summary", "total_memory_mb", "process_count", "run_queue", "findings"],
    additionalProperties: false
  }

  def start_link(registry), do: GenServer.start_link(__MODULE__, registry, name: __MODULE__)

  @doc "Runs the loop to a report: `{:ok, report, transcript}` or `{:error, error}`."
  def diagnose, do: GenServer.call(__MODULE__, :diagnose, 300_000)

  @impl true
  def init(registry), do: {:ok, %{registry: registry, job: nil}}

  @impl true
  def handle_call(:diagnose, from, state) do
    history = [
      %{
        role: "system",
        content:
          "You are an SRE for an Erlang/Elixir node. Use the beam_metrics tool to read " <>
            "memory, processes and run queues before you judge. Then answer with the report."
      },
      %{role: "user", content: "How healthy is this node right now?"}
    ]

    {:noreply, ask(%{state | job: %{from: from, history: history, turns: 0, log: []}})}
  end

  @impl true
  # The model asked for tools: run them here and send the results back.
  def handle_info({ref, {:ok, %Switchboard.Response{tool_calls: [_ | _] = calls} = r}}, state)
      when ref == state.job.ref do
    results =
      for call <- calls do
        %{role: "tool", tool_call_id: call.id, content: Metrics.run(call)}
      end

    # The answer as the next prompt's assistant turn: its text, its tool calls
    # and the reasoning a thinking model needs back (signed thinking, Gemini
    # signatures), each sent only to the provider that made it.
    assistant = Switchboard.Response.to_message(r)
    log = Enum.map(calls, &"#{r.client} called #{&1.name}(#{inspect(&1.arguments)})")
    job = %{state.job | history: state.job.history ++ [assistant | results]}
    {:noreply, ask(%{state | job: %{job | log: job.log ++ log}})}
  end

  # No more tool calls: the answer is the report, decoded and checked.
  def handle_info({ref, {:ok, %Switchboard.Response{parsed: report} = r}}, state)
      when ref == state.job.ref do
    GenServer.reply(state.job.from, {:ok, report, state.job.log, r})
    {:noreply, %{state | job: nil}}
  end

  def handle_info({ref, {:error, error}}, state) when ref == state.job.ref do
    GenServer.reply(state.job.from, {:error, error})
    {:noreply, %{state | job: nil}}
  end

  def handle_info(_other, state), do: {:noreply, state}

  defp ask(%{job: %{turns: turns} = job} = state) when turns >= @max_turns do
    error = %Switchboard.Error{kind: :bad_response, message: "no report after #{turns} turns"}
    GenServer.reply(job.from, {:error, error})
    %{state | job: nil}
  end

  defp ask(%{registry: registry, job: job} = state) do
    call =
      Switchboard.async(registry, job.history,
        tools: [Metrics.tool()],
        output_schema: @report_schema,
        options: %{max_tokens: 1024}
      )

    %{state | job: Map.merge(job, %{ref: call.ref, turns: job.turns + 1})}
  end
end

defmodule AgentExample do
  def run do
    {config, where} = config()
    IO.puts("Switchboard agent example: #{where}\n")

    {:ok, _} =
      Supervisor.start_link(
        [
          {Switchboard.Registry, name: AgentExample.LLM, client_registry: config},
          {AgentExample.Doctor, AgentExample.LLM}
        ],
        strategy: :one_for_one
      )

    case AgentExample.Doctor.diagnose() do
      {:ok, report, log, response} ->
        Enum.each(log, &IO.puts("  tool: #{&1}"))
        IO.puts("\nHealth report (checked against its schema):")

        for key <- ~w(status summary total_memory_mb process_count run_queue findings) do
          IO.puts("  #{key}: #{format(report[key])}")
        end

        IO.puts(
          "\n  answered by #{response.client} (#{response.provider}), finish: #{response.finish}"
        )

      {:error, error} ->
        IO.puts("The agent failed: #{Exception.message(error)}")
        System.halt(1)
    end
  end

  defp format(list) when is_list(list), do: Enum.join(list, "; ")
  defp format(other), do: to_string(other)

  defp config do
    cond do
      present?("ANTHROPIC_API_KEY") ->
        {registry("anthropic", %{model: "claude-haiku-4-5-20251001"}),
         "calling Anthropic for real"}

      present?("OPENAI_API_KEY") ->
        {registry("openai", %{model: "gpt-4o-mini"}), "calling OpenAI for real"}

      true ->
        mock_config()
    end
  end

  defp registry(provider, options) do
    %{
      primary: "Model",
      clients: [
        %{name: "Model", provider: provider, options: options, retry_policy: "DefaultRetry"}
      ]
    }
  end

  defp present?(var), do: System.get_env(var) not in [nil, ""]

  # The mock plays the model: first it asks for two metrics, then for one
  # more, then it writes the report (in a markdown fence, as models do; the
  # decoder takes it out).
  defp mock_config do
    mock = Switchboard.Mock.start!()
    memory_mb = Float.round(:erlang.memory(:total) / 1_048_576, 1)

    report = %{
      status: "healthy",
      summary:
        "Memory is modest, the process count is far below its limit and nothing waits to run.",
      total_memory_mb: memory_mb,
      process_count: :erlang.system_info(:process_count),
      run_queue: 0,
      findings: ["no run-queue backlog", "process table under 1% full"]
    }

    Switchboard.Mock.script(mock, "agent", [
      %{
        tool_calls: [
          %{name: "beam_metrics", arguments: %{metric: "memory"}},
          %{name: "beam_metrics", arguments: %{metric: "run_queues"}}
        ]
      },
      %{tool_calls: [%{name: "beam_metrics", arguments: %{metric: "processes"}}]},
      %{content: "Here is the report:\n```json\n" <> encode(report) <> "\n```"}
    ])

    options = %{
      model: "claude-haiku-4-5-20251001",
      api_key: "demo-key",
      base_url: Switchboard.Mock.base_url(mock, "agent", "anthropic")
    }

    {registry("anthropic", options),
     "no ANTHROPIC_API_KEY or OPENAI_API_KEY, so using the bundled mock server at #{mock.url}"}
  end

  # A tiny JSON encoder for the scripted report (no Hex packages here).
  defp encode(map) when is_map(map),
    do:
      "{" <>
        Enum.map_join(map, ",", fn {k, v} -> encode(to_string(k)) <> ":" <> encode(v) end) <> "}"

  defp encode(list) when is_list(list), do: "[" <> Enum.map_join(list, ",", &encode/1) <> "]"
  defp encode(s) when is_binary(s), do: ~s(") <> String.replace(s, ~s("), ~s(\\")) <> ~s(")
  defp encode(n) when is_number(n), do: to_string(n)
end

AgentExample.run()
