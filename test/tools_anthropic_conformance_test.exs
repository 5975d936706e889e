defmodule Switchboard.ToolsAnthropicConformanceTest do
  @moduledoc """
  Recorded Anthropic answers with tool use and thinking (req_llm cassettes
  and the Anthropic SDK's stream fixtures in ../shared/conformance),
  replayed by the mock through the real client path: the tool names, ids,
  arguments, reasoning and text must be the recorded ones. Expected values
  are read from the recordings themselves.
  """
  use Switchboard.Case, async: true
  alias Switchboard.{Chunk, ToolCall}

  @moduletag :conformance

  @root Switchboard.Case.conformance_root()

  @cassettes Path.wildcard(
               Path.join(
                 @root,
                 "anthropic/req_llm/anthropic/*/{tool_round_trip_1,multi_tool,reasoning_basic,reasoning_streaming}.json"
               )
             )

  @fixtures Path.join(@root, "anthropic/anthropic-sdk-python/tests/lib/streaming/fixtures")

  # --- what a recording says the answer is ---------------------------------

  # A whole Messages body: text blocks, thinking blocks (a paragraph apart)
  # and tool_use blocks.
  defp expect_body(body) do
    blocks = body["content"]

    %{
      text: for(%{"type" => "text", "text" => t} <- blocks, into: "", do: t),
      reasoning: reasoning(for %{"type" => "thinking", "thinking" => t} <- blocks, do: t),
      tool_calls:
        for %{"type" => "tool_use"} = b <- blocks do
          %ToolCall{id: b["id"], name: b["name"], arguments: b["input"]}
        end,
      finish_reason: body["stop_reason"]
    }
  end

  # A stream's events: blocks by index, their deltas in order; tool input
  # pieces joined and decoded.
  defp expect_events(events) do
    data = for %{"json" => %{"type" => _} = j} <- events, do: j

    blocks =
      for %{"type" => "content_block_start", "index" => i, "content_block" => b} <- data do
        deltas =
          for %{"type" => "content_block_delta", "index" => ^i, "delta" => d} <- data, do: d

        {b, deltas}
      end

    pieces = fn deltas, type, key ->
      for %{"type" => ^type} = d <- deltas, into: "", do: d[key]
    end

    %{
      text:
        for(
          {%{"type" => "text"} = b, ds} <- blocks,
          into: "",
          do: b["text"] <> pieces.(ds, "text_delta", "text")
        ),
      reasoning:
        reasoning(
          for {%{"type" => "thinking"} = b, ds} <- blocks,
              do: b["thinking"] <> pieces.(ds, "thinking_delta", "thinking")
        ),
      tool_calls:
        for {%{"type" => "tool_use"} = b, ds} <- blocks do
          input = pieces.(ds, "input_json_delta", "partial_json")
          %ToolCall{id: b["id"], name: b["name"], arguments: decode(input)}
        end,
      finish_reason:
        data
        |> Enum.map(&(&1["type"] == "message_delta" && &1["delta"]["stop_reason"]))
        |> Enum.filter(&is_binary/1)
        |> List.last()
    }
  end

  defp decode(""), do: %{}

  defp decode(text) do
    Mock.decode_json(mock(), text)
  rescue
    ArgumentError -> :not_json
  end

  defp reasoning(texts) do
    case Enum.reject(texts, &(&1 == "")) do
      [] -> nil
      texts -> Enum.join(texts, "\n\n")
    end
  end

  # --- replay ----------------------------------------------------------------

  defp registry(step) do
    sc = scripted([step])
    registry!(%{clients: [anthropic("C", sc)]})
  end

  defp stream(reg) do
    chunks = Enum.to_list(Switchboard.stream(reg, "Hello"))
    assert %Chunk{response: %Response{} = resp} = List.last(chunks)
    {chunks, resp}
  end

  defp assert_answer(%Response{} = resp, expected) do
    assert resp.content == expected.text
    assert resp.reasoning == expected.reasoning
    assert resp.tool_calls == expected.tool_calls
    assert resp.finish_reason == expected.finish_reason
    if expected.tool_calls != [], do: assert(resp.finish == :tool_calls)
  end

  defp assert_chunks(chunks, expected) do
    assert Enum.map_join(chunks, & &1.text) == expected.text
    assert Enum.map_join(chunks, & &1.reasoning) == (expected.reasoning || "")

    assert Enum.flat_map(chunks, & &1.tool_calls) ==
             Enum.map(expected.tool_calls, &%{&1 | arguments: nil})
  end

  test "the corpus has the recordings this file replays" do
    assert length(@cassettes) >= 8
    assert File.exists?(Path.join(@fixtures, "tool_use_response.txt"))
  end

  for path <- @cassettes do
    @path path
    test "replays #{Path.relative_to(path, @root)}" do
      cassette = Mock.read_json(mock(), @path)
      reg = registry(%{replay_cassette: @path})

      case cassette["response"]["body"] do
        %{"content" => _} = body ->
          expected = expect_body(body)
          assert {:ok, %Response{} = resp} = Switchboard.call(reg, "Hello")
          assert_answer(resp, expected)

        _streamed ->
          expected = expect_events(Mock.read_sse_events(mock(), @path))
          {chunks, resp} = stream(reg)
          assert_chunks(chunks, expected)
          assert_answer(resp, expected)
      end
    end
  end

  test "the recordings hold what this file is about" do
    expectations =
      for path <- @cassettes, into: %{} do
        cassette = Mock.read_json(mock(), path)

        expected =
          case cassette["response"]["body"] do
            %{"content" => _} = body -> expect_body(body)
            _ -> expect_events(Mock.read_sse_events(mock(), path))
          end

        {Path.basename(path, ".json") <> "@" <> Path.basename(Path.dirname(path)), expected}
      end

    for {name, expected} <- expectations do
      cond do
        name =~ "tool_round_trip_1" ->
          assert [%ToolCall{name: "add", arguments: %{"a" => 2, "b" => 3}}] = expected.tool_calls

        name =~ "multi_tool" ->
          assert [%ToolCall{name: "get_weather", arguments: %{"location" => _}} | _] =
                   expected.tool_calls

        name =~ "reasoning" ->
          assert is_binary(expected.reasoning) and expected.reasoning != ""
      end
    end
  end

  test "replays the SDK's tool_use_response.txt: the call, its streamed input, its start" do
    path = Path.join(@fixtures, "tool_use_response.txt")
    expected = expect_events(Mock.read_sse_events(mock(), path))

    assert [%ToolCall{name: "get_weather", arguments: %{"location" => "Paris"}}] =
             expected.tool_calls

    for step <- [%{replay_file: path}, %{replay_file: path, split_bytes: 61}] do
      {chunks, resp} = stream(registry(step))
      assert_chunks(chunks, expected)
      assert_answer(resp, expected)
      assert resp.content == "I'll check the current weather in Paris for you."

      assert [%ToolCall{id: "toolu_01NRLabsLyVHZPKxbKvkfSMn"}] = resp.tool_calls
    end
  end

  test "replays the SDK's incomplete_partial_json_response.txt: input cut by max_tokens is a :bad_response" do
    path = Path.join(@fixtures, "incomplete_partial_json_response.txt")
    expected = expect_events(Mock.read_sse_events(mock(), path))
    assert expected.finish_reason == "max_tokens"
    assert [%ToolCall{name: "make_file", arguments: :not_json}] = expected.tool_calls

    call = Switchboard.stream_to(registry(%{replay_file: path}), "Hello")
    {messages, result} = collect(call)

    # The text and the call's start were streamed; the answer cannot be used.
    assert text(messages) == expected.text

    assert [%ToolCall{name: "make_file", arguments: nil}] =
             for({:chunk, c} <- messages, tc <- c.tool_calls, do: tc)

    assert {:error, %Error{kind: :bad_response, message: message}} = result
    assert message =~ ~s("make_file")
    assert message =~ "max_tokens"
  end
end
