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

  defp expected(:openai, body) do
    choice = hd(body["choices"])

    {choice["message"]["content"] || "", choice["finish_reason"],
     recorded_usage(:openai, body["usage"] || %{})}
  end

  defp expected(:anthropic, body) do
    text = for %{"type" => "text", "text" => t} <- body["content"], into: "", do: t
    {text, body["stop_reason"], recorded_usage(:anthropic, body["usage"])}
  end

  # Blocks Switchboard reads; an answer with any other (server tools such as
  # web search, types added later) is a :bad_response naming that block.
  @read_blocks ["text", "thinking", "redacted_thinking", "tool_use"]

  defp unread_block(:anthropic, body) do
    Enum.find_value(body["content"], &(&1["type"] not in @read_blocks && &1["type"]))
  end

  defp unread_block(:openai, _body), do: nil

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
      format = recorded_format(cassette["request"]["url"])
      assert format && is_map(response["body"]), "not a non-streaming chat recording"

      sc = scripted([%{replay_cassette: @path}])
      client = if format == :anthropic, do: anthropic("C", sc), else: openai("C", sc)
      reg = registry!(%{clients: [client]})
      result = Switchboard.call(reg, "Hello world!")

      unread = response["status"] == 200 && unread_block(format, response["body"])

      case response["status"] do
        200 when is_binary(unread) ->
          assert {:error, %Error{kind: :bad_response, message: message}} = result
          assert message =~ inspect(unread)

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
