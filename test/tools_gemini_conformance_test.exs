defmodule Switchboard.ToolsGeminiConformanceTest do
  @moduledoc """
  Recorded Gemini and Vertex AI answers with function calls and thought
  summaries, replayed by the mock through the real client path: the
  req_llm cassettes (`tool_round_trip_1`, `multi_tool`, on both hosts) and
  the Firebase SDKs' function-call and thinking answers, plain and
  streamed. What each should read to (calls by name and arguments, made-up
  ids in order, reasoning apart from the text) is computed here from the
  recording itself; the JSON is decoded by the mock.
  """
  use Switchboard.Case, async: true
  import Switchboard.GoogleHelpers
  alias Switchboard.{Chunk, ToolCall}

  @moduletag :conformance

  @root Switchboard.Case.conformance_root()

  @cassettes for host <- ["gemini/req_llm/google", "vertex/req_llm/google_vertex"],
                 name <- ["tool_round_trip_1", "multi_tool"],
                 do: Path.join([@root, host, "gemini_2_5_flash", name <> ".json"])

  @firebase Path.wildcard(
              Path.join(
                @root,
                "gemini/firebase-vertexai-sdk-test-data/mock-responses/{googleai,vertexai}/*{function-call,thought-summary}*"
              )
            )

  # --- what a recording says ---------------------------------------------------

  defp parts(object) do
    case object["candidates"] do
      [candidate | _] -> get_in(candidate, ["content", "parts"]) || []
      _ -> []
    end
  end

  # Text, reasoning and calls of a recorded answer, folded over its objects.
  defp expected(objects) do
    parts = Enum.flat_map(objects, &parts/1)

    calls =
      for {%{"functionCall" => call} = part, i} <-
            parts |> Enum.filter(&Map.has_key?(&1, "functionCall")) |> Enum.with_index() do
        %ToolCall{
          id: call["id"] || "call_sb_#{i}",
          name: call["name"],
          arguments: call["args"] || %{},
          # Kept with its call, to be sent back with it.
          signature: part["thoughtSignature"]
        }
      end

    %{
      text: for(%{"text" => t} = p <- parts, p["thought"] != true, into: "", do: t),
      reasoning: for(%{"text" => t, "thought" => true} <- parts, into: "", do: t),
      calls: calls
    }
  end

  defp sse_objects(body) do
    body
    |> String.split(~r/\r\n\r\n|\n\n/)
    |> Enum.map(&String.trim/1)
    |> Enum.reject(&(&1 == ""))
    |> Enum.map(fn "data:" <> data -> Mock.decode_json(mock(), String.trim(data)) end)
  end

  # --- replay ------------------------------------------------------------------

  defp registry(family, sc) do
    client =
      case family do
        :googleai -> google_ai("C", sc)
        :vertexai -> vertex("C", sc, %{query_params: %{key: "k"}})
      end

    registry!(%{clients: [client]})
  end

  defp check(%Response{} = resp, want, label) do
    assert resp.content == want.text, label
    # `nil` when the answer has none.
    assert resp.reasoning == if(want.reasoning == "", do: nil, else: want.reasoning), label
    assert resp.tool_calls == want.calls, label
    if want.calls != [], do: assert(resp.finish == :tool_calls, label)
  end

  test "the corpus has the recordings this file replays" do
    assert Enum.all?(@cassettes, &File.exists?/1)
    assert length(@firebase) >= 14
  end

  for path <- @cassettes do
    @path path
    test "req_llm #{Path.relative_to(path, @root)}" do
      cassette = Mock.read_json(mock(), @path)
      family = if cassette["request"]["url"] =~ "aiplatform", do: :vertexai, else: :googleai
      want = expected([cassette["response"]["body"]])
      label = Path.relative_to(@path, @root)

      # The recorded request declared the tools the answer calls.
      [%{"functionDeclarations" => declared}] = cassette["request"]["canonical_json"]["tools"]
      tools = for d <- declared, do: %{name: d["name"], description: d["description"]}

      sc = scripted([%{replay_cassette: @path}])
      assert {:ok, resp} = Switchboard.call(registry(family, sc), "Hello", tools: tools)
      check(resp, want, label)
      assert [%ToolCall{} | _] = resp.tool_calls

      assert resp.usage.reasoning_tokens ==
               cassette["response"]["body"]["usageMetadata"]["thoughtsTokenCount"]
    end
  end

  test "req_llm: the recorded calls, by name and arguments" do
    calls =
      for path <- @cassettes do
        family = if path =~ "vertex/", do: :vertexai, else: :googleai
        sc = scripted([%{replay_cassette: path}])
        {:ok, resp} = Switchboard.call(registry(family, sc), "Hello")
        for c <- resp.tool_calls, do: {c.id, c.name, c.arguments}
      end

    assert calls == [
             [{"call_sb_0", "add", %{"a" => 2, "b" => 3}}],
             [{"call_sb_0", "get_weather", %{"location" => "Paris, France"}}],
             [{"call_sb_0", "add", %{"a" => 2, "b" => 3}}],
             [{"call_sb_0", "get_weather", %{"location" => "Paris, France"}}]
           ]
  end

  for path <- @firebase do
    @path path
    test "firebase #{Path.relative_to(path, @root)}" do
      family = @path |> Path.dirname() |> Path.basename() |> String.to_atom()
      raw = File.read!(@path)
      label = Path.basename(@path)
      sc = scripted([%{replay_file: @path}])
      reg = registry(family, sc)

      if String.starts_with?(raw, "data:") do
        want = expected(sse_objects(raw))
        chunks = reg |> Switchboard.stream("Hello") |> Enum.to_list()
        assert %Chunk{response: %Response{} = resp} = List.last(chunks)
        check(resp, want, label)
        assert Enum.map_join(chunks, & &1.reasoning) == want.reasoning, label

        assert Enum.flat_map(chunks, & &1.tool_calls) ==
                 for(c <- want.calls, do: %{c | arguments: nil, signature: nil}),
               label
      else
        want = expected([Mock.decode_json(mock(), raw)])
        assert {:ok, resp} = Switchboard.call(reg, "Hello")
        check(resp, want, label)
      end
    end
  end

  test "firebase: thoughts and a signed call, read apart" do
    path =
      Enum.find(
        @firebase,
        &(&1 =~ "googleai/unary-success-thinking-function-call-thought-summary-signature")
      )

    sc = scripted([%{replay_file: path}])
    assert {:ok, resp} = Switchboard.call(registry(:googleai, sc), "Hello")
    assert resp.content == ""
    assert resp.reasoning =~ "**Thinking Through the New Year's Eve Calculation**"

    assert [%ToolCall{id: "call_sb_0", name: "now", arguments: %{}, signature: signature}] =
             resp.tool_calls

    assert String.starts_with?(signature, "CtQOAVSoXO74PmYr9AFurEIJ")
    assert resp.usage.reasoning_tokens == 501
    assert resp.usage.output_tokens == 8 + 501
  end
end
