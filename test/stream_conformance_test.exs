defmodule Switchboard.StreamConformanceTest do
  @moduledoc """
  Every recorded raw SSE stream for OpenAI chat and Anthropic in
  ../shared/conformance, replayed by the mock server (files as recorded,
  cassettes read by read exactly as recorded) through the real streaming
  path. Expected values are computed from the recorded events.
  """
  use Switchboard.Case, async: true

  @moduletag :conformance

  @root Switchboard.Case.conformance_root()

  # A tool input cut by max_tokens (incomplete_partial_json_response.txt) is
  # a :bad_response, not text: tools_anthropic_conformance_test.exs has it.
  @raw_files (Path.wildcard(Path.join(@root, "openai-chat/openai-python-inline-snapshot/*.sse")) ++
                Path.wildcard(Path.join(@root, "anthropic/anthropic-sdk-python/**/*.{txt,sse}")))
             |> Enum.reject(&String.ends_with?(&1, "incomplete_partial_json_response.txt"))

  @cassettes Switchboard.Case.chat_recordings(
               "{anthropic,openai-chat,azure-openai}/req_llm/**/*.json",
               :streamed
             )

  @vectors Path.join(@root, "sse-decoder-edge-cases/stainless-sdk-sse-decoder-vectors.json")

  # --- what a recording says the answer is ---------------------------------

  defp refusal_reason(reason, true) when reason in [nil, "stop"], do: "refusal"
  defp refusal_reason(reason, _refused), do: reason

  defp expect(:openai, events) do
    chunks = for %{"json" => %{} = j} <- events, do: j
    choices = for j <- chunks, c <- j["choices"] || [], c["index"] == 0, do: c
    usage = chunks |> Enum.map(& &1["usage"]) |> Enum.reject(&is_nil/1) |> List.last()

    %{
      done: Enum.any?(events, &(&1["data"] == "[DONE]")),
      error: nil,
      # A refusal is answer text, as Switchboard reads it.
      text:
        for(
          c <- choices,
          t <- [c["delta"]["content"], c["delta"]["refusal"]],
          is_binary(t),
          into: "",
          do: t
        ),
      # A refusal over "stop" (or no reason) reads as "refusal".
      finish_reason:
        choices
        |> Enum.map(& &1["finish_reason"])
        |> Enum.reject(&is_nil/1)
        |> List.last()
        |> refusal_reason(Enum.any?(choices, &(&1["delta"]["refusal"] not in [nil, ""]))),
      usage: usage && recorded_usage(:openai, usage)
    }
  end

  defp expect(:anthropic, events) do
    data = for %{"json" => %{"type" => _} = j} <- events, do: j
    start = Enum.find_value(data, %{}, &(&1["type"] == "message_start" && &1["message"]["usage"]))
    deltas = for %{"type" => "message_delta"} = d <- data, do: d
    last_usage = Enum.reduce(deltas, start, fn d, acc -> Map.merge(acc, d["usage"] || %{}) end)

    text =
      for j <- data, into: "" do
        case j do
          %{"type" => "content_block_delta", "delta" => %{"type" => "text_delta", "text" => t}} ->
            t

          %{"type" => "content_block_start", "content_block" => %{"type" => "text", "text" => t}} ->
            t

          _ ->
            ""
        end
      end

    # A block Switchboard does not read (server tools, types added later)
    # fails the stream as a :bad_response naming it.
    unread =
      Enum.find_value(data, fn j ->
        j["type"] == "content_block_start" &&
          j["content_block"]["type"] not in ["text", "thinking", "redacted_thinking", "tool_use"] &&
          j["content_block"]["type"]
      end)

    %{
      done: Enum.any?(data, &(&1["type"] == "message_stop")),
      unread: unread,
      error: Enum.find_value(data, &(&1["type"] == "error" && &1["error"]["type"])),
      text: text,
      finish_reason:
        deltas |> Enum.map(& &1["delta"]["stop_reason"]) |> Enum.reject(&is_nil/1) |> List.last(),
      usage: recorded_usage(:anthropic, last_usage)
    }
  end

  # Anthropic's documented error types (docs.anthropic.com, "Errors").
  defp anthropic_error_kind("invalid_request_error"), do: :invalid_request
  defp anthropic_error_kind("authentication_error"), do: :auth
  defp anthropic_error_kind("permission_error"), do: :permission
  defp anthropic_error_kind("not_found_error"), do: :not_found
  defp anthropic_error_kind("request_too_large"), do: :invalid_request
  defp anthropic_error_kind("rate_limit_error"), do: :rate_limited
  defp anthropic_error_kind("api_error"), do: :server
  defp anthropic_error_kind("overloaded_error"), do: :overloaded

  defp format_of(path) do
    cond do
      String.contains?(path, "openai-python") -> :openai
      String.contains?(path, "anthropic-sdk-python") -> :anthropic
      true -> nil
    end
  end

  # --- replay and compare ----------------------------------------------------

  defp replay_and_check(format, step, events) do
    expected = expect(format, events)
    sc = scripted([step])
    client = if format == :anthropic, do: anthropic("C", sc), else: openai("C", sc)
    reg = registry!(%{clients: [client]})
    chunks = Enum.to_list(Switchboard.stream(reg, "Hello"))
    assert %Switchboard.Chunk{response: %Response{} = resp} = List.last(chunks)
    streamed = chunks |> Enum.map(& &1.text) |> Enum.join()
    assert streamed == expected.text
    assert resp.content == expected.text
    assert resp.finish_reason == expected.finish_reason
    if expected.usage, do: assert(resp.usage == expected.usage)
    {expected, resp}
  rescue
    e in Error -> {:raised, e}
  end

  defp check(format, step, events) do
    expected = expect(format, events)

    case replay_and_check(format, step, events) do
      {:raised, %Error{} = e} ->
        cond do
          expected[:unread] ->
            assert e.kind == :bad_response and e.message =~ inspect(expected.unread)

          expected.error ->
            assert e.kind == anthropic_error_kind(expected.error)

          not expected.done ->
            assert e.kind == :network

          true ->
            flunk("unexpected error: #{Exception.message(e)}")
        end

      {_, _resp} ->
        assert expected.done and is_nil(expected.error) and is_nil(expected[:unread])
    end
  end

  test "the corpus has streams to replay" do
    assert length(@raw_files) >= 20
    assert Enum.count(@cassettes) > 20
  end

  for path <- @raw_files do
    @path path
    test "replays #{Path.relative_to(path, @root)}" do
      events = Mock.read_sse_events(mock(), @path)
      check(format_of(@path), %{replay_file: @path}, events)
    end

    # A prime split lands mid-line, mid-CRLF and mid-character all over the
    # file; byte-by-byte splitting is covered by the Rust decoder tests.
    test "replays #{Path.relative_to(path, @root)} split into 61-byte reads" do
      events = Mock.read_sse_events(mock(), @path)
      check(format_of(@path), %{replay_file: @path, split_bytes: 61}, events)
    end
  end

  for path <- @cassettes do
    @path path
    test "replays #{Path.relative_to(path, @root)} read by read" do
      cassette = Mock.read_json(mock(), @path)
      format = recorded_format(cassette["request"]["url"])
      assert format, "not a chat recording"
      events = Mock.read_sse_events(mock(), @path)
      assert events != []
      check(format, %{replay_cassette: @path}, events)
    end
  end

  # The decoder vectors, byte for byte, inside a real Anthropic stream: the
  # framing oddities must not derail it, and an error event must surface.
  @prefix [
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n",
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"ok\"}}\n\n"
  ]
  @suffix [
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
  ]

  test "SSE decoder vectors replayed inside an Anthropic stream" do
    %{"cases" => cases} = Mock.read_json(mock(), @vectors)
    assert length(cases) >= 10

    for %{"name" => name, "chunks_b64" => chunks, "expected_events" => expected} <- cases do
      pieces =
        Enum.map(@prefix, &Base.encode64/1) ++ chunks ++ Enum.map(@suffix, &Base.encode64/1)

      sc = scripted([%{replay_chunks_b64: pieces, content_type: "text/event-stream"}])
      reg = registry!(%{clients: [anthropic("C", sc)]})

      if Enum.any?(expected, &(&1["event"] == "error")) do
        error = assert_raise Error, fn -> Enum.to_list(Switchboard.stream(reg, "hi")) end
        assert error.kind == :overloaded, name
      else
        chunks = Enum.to_list(Switchboard.stream(reg, "hi"))

        assert %Response{content: "ok", finish_reason: "end_turn"} = List.last(chunks).response,
               name
      end
    end
  end
end
