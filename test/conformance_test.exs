defmodule Switchboard.ConformanceTest do
  @moduledoc """
  Recorded real provider traffic (../shared/conformance, req_llm cassettes)
  replayed by the mock server through the real client path. Expected values
  are read from the recording itself.
  """
  use Switchboard.Case, async: true

  @moduletag :conformance

  @root Switchboard.Case.conformance_root()
  @cassettes Switchboard.Case.chat_recordings(
               "{anthropic,openai-chat,openai-compatible,azure-openai}/**/*.json",
               :whole
             )

  # Which wire format a recorded request used, from its URL.
  defp format_of(url) do
    path = URI.parse(url).path || ""

    cond do
      String.ends_with?(path, "/v1/messages") -> :anthropic
      String.ends_with?(path, "/chat/completions") -> :openai
      true -> nil
    end
  end

  defp expected(:openai, body) do
    choice = hd(body["choices"])
    u = body["usage"] || %{}

    {choice["message"]["content"] || "", choice["finish_reason"],
     %Usage{
       input_tokens: u["prompt_tokens"],
       output_tokens: u["completion_tokens"],
       total_tokens: u["total_tokens"],
       cached_input_tokens: get_in(u, ["prompt_tokens_details", "cached_tokens"])
     }}
  end

  defp expected(:anthropic, body) do
    text = for %{"type" => "text", "text" => t} <- body["content"], into: "", do: t
    u = body["usage"]

    {text, body["stop_reason"],
     %Usage{
       input_tokens: u["input_tokens"],
       output_tokens: u["output_tokens"],
       total_tokens: u["input_tokens"] + u["output_tokens"],
       cached_input_tokens: u["cache_read_input_tokens"]
     }}
  end

  defp expected_kind(400), do: :invalid_request
  defp expected_kind(401), do: :auth
  defp expected_kind(404), do: :not_found
  defp expected_kind(422), do: :invalid_request
  defp expected_kind(429), do: :rate_limited

  test "the corpus has non-streaming recordings to replay" do
    assert length(@cassettes) > 40
  end

  for path <- @cassettes do
    @path path
    test "replays #{Path.relative_to(path, @root)}" do
      cassette = Mock.read_json(mock(), @path)
      response = cassette["response"]
      format = format_of(cassette["request"]["url"])
      assert format && is_map(response["body"]), "not a non-streaming chat recording"

      sc = scripted([%{replay_cassette: @path}])
      client = if format == :anthropic, do: anthropic("C", sc), else: openai("C", sc)
      reg = registry!(%{clients: [client]})
      result = Switchboard.call(reg, "Hello world!")

      case response["status"] do
        200 ->
          {content, finish_reason, usage} = expected(format, response["body"])
          assert {:ok, %Response{} = resp} = result
          assert resp.content == content
          assert resp.finish_reason == finish_reason
          assert resp.usage == usage
          assert resp.model == response["body"]["model"]

        status ->
          kind = expected_kind(status)
          assert {:error, %Error{kind: ^kind, status: ^status, raw_response: raw}} = result
          assert raw =~ "error"
      end
    end
  end
end
