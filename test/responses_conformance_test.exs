defmodule Switchboard.ResponsesConformanceTest do
  @moduledoc """
  Every recorded OpenAI Responses API exchange in
  ../shared/conformance/openai-responses (req_llm cassettes), replayed by the
  mock server through the real client path: whole bodies with a plain call,
  streamed ones read by read exactly as recorded with a streaming call.
  Expected values are computed from the recordings themselves.
  """
  use Switchboard.Case, async: true

  @moduletag :conformance

  alias Switchboard.Chunk

  @root Switchboard.Case.conformance_root()
  @cassettes Path.wildcard(Path.join(@root, "openai-responses/**/*.json"))

  # --- what a recording says the answer is ---------------------------------

  # A finished response object: the text of the output_text parts of its
  # message items, and how it ended.
  defp expected_response(%{"status" => "failed"} = r), do: %{error: r["error"]["code"]}

  defp expected_response(r) do
    text =
      for %{"type" => "message", "content" => parts} <- r["output"] || [],
          %{"type" => "output_text", "text" => t} <- parts,
          into: "",
          do: t

    finish_reason =
      case r["status"] do
        "completed" -> "stop"
        "incomplete" -> r["incomplete_details"]["reason"]
      end

    %{
      error: nil,
      text: text,
      finish_reason: finish_reason,
      model: r["model"],
      usage: usage(r["usage"])
    }
  end

  defp usage(nil), do: %Usage{}

  defp usage(u) do
    {input, output} = {u["input_tokens"], u["output_tokens"]}

    %Usage{
      input_tokens: input,
      output_tokens: output,
      total_tokens:
        if(input || output, do: (input || 0) + (output || 0), else: u["total_tokens"]),
      cached_input_tokens: get_in(u, ["input_tokens_details", "cached_tokens"]),
      reasoning_tokens: get_in(u, ["output_tokens_details", "reasoning_tokens"])
    }
  end

  # A stream: its deltas, and its terminal event's response object.
  defp expected_stream(events) do
    data = for %{"json" => %{"type" => _} = j} <- events, do: j
    deltas = for %{"type" => "response.output_text.delta", "delta" => d} <- data, into: "", do: d

    terminal =
      Enum.find(
        data,
        &(&1["type"] in ~w(response.completed response.incomplete response.failed error))
      )

    case terminal do
      nil -> %{error: :cut, text: deltas}
      %{"type" => "error"} = e -> %{error: e["code"] || e["error"]["code"], text: deltas}
      %{"response" => r} -> Map.put(expected_response(r), :streamed_text, deltas)
    end
  end

  defp kind("rate_limit_exceeded"), do: :rate_limited
  defp kind("invalid_prompt"), do: :invalid_request
  defp kind(_server_error), do: :server

  defp http_kind(400), do: :invalid_request
  defp http_kind(401), do: :auth
  defp http_kind(403), do: :permission
  defp http_kind(404), do: :not_found
  defp http_kind(422), do: :invalid_request
  defp http_kind(429), do: :rate_limited
  defp http_kind(status) when status >= 500, do: :server

  defp client(sc) do
    %{
      name: "R",
      provider: "openai-responses",
      options: %{
        model: "gpt-5",
        api_key: "sk-test",
        base_url: Mock.base_url(mock(), sc, "openai-responses")
      }
    }
  end

  # --- replay and compare ----------------------------------------------------

  defp check_whole(path, response) do
    reg = registry!(%{clients: [client(scripted([%{replay_cassette: path}]))]})
    result = Switchboard.call(reg, "Hello world!")

    case {response["status"], response["body"]} do
      {200, body} ->
        case expected_response(body) do
          %{error: nil} = expected ->
            assert {:ok, %Response{} = resp} = result
            assert resp.content == expected.text
            assert resp.finish_reason == expected.finish_reason
            assert resp.usage == expected.usage
            assert resp.model == expected.model

          %{error: code} ->
            kind = kind(code)
            assert {:error, %Error{kind: ^kind, status: 200}} = result
        end

      {status, _} ->
        kind = http_kind(status)
        assert {:error, %Error{kind: ^kind, status: ^status, raw_response: raw}} = result
        assert raw =~ "error"
    end
  end

  defp check_streamed(path) do
    events = Mock.read_sse_events(mock(), path)
    assert events != []
    expected = expected_stream(events)
    reg = registry!(%{clients: [client(scripted([%{replay_cassette: path}]))]})

    case expected do
      %{error: nil} ->
        chunks = Enum.to_list(Switchboard.stream(reg, "Hello world!"))
        assert %Chunk{response: %Response{} = resp} = List.last(chunks)
        assert chunks |> Enum.map(& &1.text) |> Enum.join() == expected.streamed_text
        assert resp.content == expected.streamed_text
        # The deltas add up to the text of the final response object.
        assert expected.streamed_text == expected.text
        assert resp.finish_reason == expected.finish_reason
        assert resp.usage == expected.usage
        assert resp.model == expected.model

      %{error: :cut} ->
        error = assert_raise Error, fn -> Enum.to_list(Switchboard.stream(reg, "hi")) end
        assert error.kind == :network

      %{error: code} ->
        error = assert_raise Error, fn -> Enum.to_list(Switchboard.stream(reg, "hi")) end
        assert error.kind == kind(code)
    end
  end

  test "the corpus has plain and streamed Responses API recordings" do
    assert length(@cassettes) >= 10
    assert Enum.any?(@cassettes, &(File.read!(&1) =~ ~r/"chunks"\s*:\s*\[\s*\{/))
  end

  for path <- @cassettes do
    @path path
    test "replays #{Path.relative_to(path, @root)}" do
      cassette = Mock.read_json(mock(), @path)
      assert String.ends_with?(URI.parse(cassette["request"]["url"]).path, "/responses")

      case cassette["chunks"] do
        [_ | _] -> check_streamed(@path)
        _ -> check_whole(@path, cassette["response"])
      end
    end
  end
end
