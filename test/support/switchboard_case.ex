defmodule Switchboard.Case do
  @moduledoc """
  Test helpers: one mock server for the whole suite (started in
  test_helper.exs), a fresh scenario per test, and builders for clients
  pointed at it.
  """
  use ExUnit.CaseTemplate

  using do
    quote do
      import Switchboard.Case
      alias Switchboard.{Attempt, Call, Error, Mock, Registry, Response, Usage}
    end
  end

  @doc "The suite's mock server."
  def mock, do: :persistent_term.get({__MODULE__, :mock})

  @doc """
  Starts the suite's mock server; called once from test_helper.exs. It may
  read the conformance corpus (the only files the tests replay), when there.
  """
  def start_mock! do
    root = if File.dir?(conformance_root()), do: [root: conformance_root()], else: []
    mock = Switchboard.Mock.start!(root)
    :persistent_term.put({__MODULE__, :mock}, mock)
    mock
  end

  @doc """
  Every telemetry event Switchboard emits (the table in
  `Switchboard.Telemetry`'s docs, which the telemetry test holds this to):
  one list for every test that attaches to all of them.
  """
  def telemetry_events do
    [
      [:switchboard, :call, :start],
      [:switchboard, :call, :stop],
      [:switchboard, :call, :exception],
      [:switchboard, :attempt, :start],
      [:switchboard, :attempt, :stop],
      [:switchboard, :stream, :first_token],
      [:switchboard, :circuit, :open],
      [:switchboard, :circuit, :half_open],
      [:switchboard, :circuit, :close]
    ]
  end

  @doc "A scenario id no other test uses."
  def scenario(prefix \\ "t"), do: "#{prefix}#{System.unique_integer([:positive])}"

  @doc "Scripts a scenario and returns it."
  def scripted(steps, prefix \\ "t") do
    sc = scenario(prefix)
    :ok = Switchboard.Mock.script(mock(), sc, steps)
    sc
  end

  @doc "An OpenAI client whose base_url is the mock's scenario."
  def openai(name, sc, options \\ %{}, retry_policy \\ nil) do
    client(
      name,
      "openai",
      sc,
      Map.merge(%{model: "gpt-4o-mini", api_key: "sk-test"}, options),
      retry_policy
    )
  end

  @doc "An Anthropic client whose base_url is the mock's scenario."
  def anthropic(name, sc, options \\ %{}, retry_policy \\ nil) do
    client(
      name,
      "anthropic",
      sc,
      Map.merge(%{model: "claude-haiku-4-5-20251001", api_key: "sk-ant-test"}, options),
      retry_policy
    )
  end

  @doc """
  A client of `provider` answering from scenario `sc`: one per wire dialect
  (`openai`, `anthropic`, `google-ai`, `aws-bedrock` with static keys,
  `openai-responses`, and Vertex AI's `vertex-gemini` and `vertex-claude`
  with an express-mode key), for tests that run the same case on each.
  """
  def dialect_client(name, "openai", sc), do: openai(name, sc)
  def dialect_client(name, "anthropic", sc), do: anthropic(name, sc)

  def dialect_client(name, "google-ai", sc),
    do: Switchboard.GoogleHelpers.google_ai(name, sc, %{})

  def dialect_client(name, "aws-bedrock", sc) do
    options = %{
      model: "anthropic.claude-3-5-haiku-20241022-v1:0",
      region: "us-east-1",
      endpoint_url: Switchboard.Mock.base_url(mock(), sc, "aws-bedrock"),
      access_key_id: "AKIDEXAMPLE",
      secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    }

    %{name: name, provider: "aws-bedrock", options: options}
  end

  # Vertex AI as an express-mode key reaches it: no token endpoint.
  def dialect_client(name, "vertex-gemini", sc),
    do: Switchboard.GoogleHelpers.vertex(name, sc, %{query_params: %{key: "AQ.express"}})

  def dialect_client(name, "vertex-claude", sc) do
    Switchboard.GoogleHelpers.vertex(name, sc, %{
      model: "claude-sonnet-4@20250514",
      location: "us-east5",
      query_params: %{key: "AQ.express"}
    })
  end

  def dialect_client(name, "openai-responses", sc),
    do: client(name, "openai-responses", sc, %{model: "gpt-5", api_key: "sk-test"}, nil)

  defp client(name, provider, sc, options, retry_policy) do
    base = Switchboard.Mock.base_url(mock(), sc, provider)

    %{name: name, provider: provider, options: Map.put_new(options, :base_url, base)}
    |> then(&if retry_policy, do: Map.put(&1, :retry_policy, retry_policy), else: &1)
  end

  @doc "Requests the mock recorded for a scenario."
  def requests(sc), do: Switchboard.Mock.requests(mock(), sc)

  @doc "The value of a recorded request's header (names are lowercase)."
  def header(request, name) do
    case request["headers"] do
      headers when is_map(headers) ->
        headers[name]

      headers when is_list(headers) ->
        Enum.find_value(headers, fn {k, v} -> if k == name, do: v end)
    end
  end

  @doc "Milliseconds between consecutive recorded requests."
  def gaps_ms(requests) do
    requests
    |> Enum.map(& &1["received_at_us"])
    |> Enum.chunk_every(2, 1, :discard)
    |> Enum.map(fn [a, b] -> div(b - a, 1000) end)
  end

  @doc "Builds a registry or fails the test with the error."
  def registry!(config) do
    case Switchboard.Registry.new(config) do
      {:ok, reg} -> reg
      {:error, error} -> raise "registry failed: #{Exception.message(error)}"
    end
  end

  @doc """
  A registry whose primary, `"F"`, is a fallback over `clients` in order.
  """
  def fallback_registry!(clients) do
    strategy = Enum.map(clients, & &1.name)
    fallback = %{name: "F", provider: "fallback", options: %{strategy: strategy}}
    registry!(%{primary: "F", clients: clients ++ [fallback]})
  end

  @doc "The conformance corpus, beside the project."
  def conformance_root, do: Path.expand("../../../shared/conformance", __DIR__)

  @doc """
  req_llm chat recordings under `globs` (relative to the corpus) that were
  answered read by read (`:streamed`) or in one body (`:whole`). Decided
  with a textual check, since tests pick their cases at compile time and
  the Elixir side has no JSON library.
  """
  def chat_recordings(glob, kind) do
    conformance_root()
    |> Path.join(glob)
    |> Path.wildcard()
    |> Enum.filter(fn path ->
      raw = File.read!(path)
      chat? = raw =~ ~r{"url"\s*:\s*"[^"]*(/chat/completions|/v1/messages)}
      streamed? = raw =~ ~r/"chunks"\s*:\s*\[\s*\{/

      response =
        case String.split(raw, ~s("response"), parts: 2) do
          [_request, response] -> response
          _ -> ""
        end

      whole? = response =~ ~r/"body"\s*:\s*\{/

      chat? and if(kind == :streamed, do: streamed?, else: whole? and not streamed?)
    end)
  end

  @doc "The wire format a recorded request used, from its URL."
  def recorded_format(url) do
    path = URI.parse(url).path || ""

    cond do
      String.ends_with?(path, "/v1/messages") -> :anthropic
      String.ends_with?(path, "/chat/completions") -> :openai
      true -> nil
    end
  end

  @doc """
  A recorded usage object as `Switchboard.Usage`, in its one meaning:
  input counts every prompt token (Anthropic's uncached `input_tokens`
  plus cache reads and writes), total = input + output.
  """
  def recorded_usage(:openai, u) do
    {input, output} = {u["prompt_tokens"], u["completion_tokens"]}

    %Switchboard.Usage{
      input_tokens: input,
      output_tokens: output,
      total_tokens: sum(input, output) || u["total_tokens"],
      cached_input_tokens: get_in(u, ["prompt_tokens_details", "cached_tokens"]),
      reasoning_tokens: get_in(u, ["completion_tokens_details", "reasoning_tokens"])
    }
  end

  def recorded_usage(:anthropic, u) do
    {read, created} = {u["cache_read_input_tokens"], u["cache_creation_input_tokens"]}

    input =
      if u["input_tokens"] || read || created, do: sum(sum(u["input_tokens"], read), created)

    output = u["output_tokens"]

    %Switchboard.Usage{
      input_tokens: input,
      output_tokens: output,
      total_tokens: sum(input, output),
      cached_input_tokens: read,
      cache_creation_input_tokens: created
    }
  end

  defp sum(nil, nil), do: nil
  defp sum(a, b), do: (a || 0) + (b || 0)

  @doc """
  Collects a `Switchboard.stream_to/3` call's messages until its terminal
  one, acking each: `{[{:chunk, chunk} | {:reset, attempt}], result}`.
  """
  def collect(%Switchboard.Call{ref: ref} = call, acc \\ []) do
    receive do
      {^ref, {:chunk, %Switchboard.Chunk{} = chunk}} ->
        Switchboard.ack(call)
        collect(call, [{:chunk, chunk} | acc])

      {^ref, {:reset, %Switchboard.Attempt{} = attempt}} ->
        Switchboard.ack(call)
        collect(call, [{:reset, attempt} | acc])

      {^ref, result} ->
        {Enum.reverse(acc), result}
    after
      10_000 -> ExUnit.Assertions.flunk("no terminal message")
    end
  end

  @doc """
  Receives `async/3` calls' terminal messages until `n` calls are left:
  `{results, calls_left}`. For tests that hold some calls in the mock
  while the others finish.
  """
  def await_all_but(calls, n) do
    pending = Map.new(calls, &{&1.ref, &1})
    collect_terminals(pending, n, [])
  end

  defp collect_terminals(pending, n, acc) when map_size(pending) <= n,
    do: {acc, Map.values(pending)}

  defp collect_terminals(pending, n, acc) do
    receive do
      {ref, {status, _} = result} when is_map_key(pending, ref) and status in [:ok, :error] ->
        collect_terminals(Map.delete(pending, ref), n, [result | acc])
    end
  end

  @doc "The text of collected messages' chunks, joined."
  def text(messages), do: for({:chunk, c} <- messages, into: "", do: c.text)

  @doc "Client names of a response's or error's attempts, in order."
  def attempt_clients(%{attempts: attempts}), do: Enum.map(attempts, & &1.client)
end
