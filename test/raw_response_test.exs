defmodule Switchboard.RawResponseTest do
  @moduledoc """
  `raw_response: true`: the provider's answer as received arrives as
  `Response.raw` (plain and streamed), bounded to 1 MiB, `nil` by default,
  and from the attempt that answered when a fallback moved on.
  """
  use Switchboard.Case, async: true

  @marker "\n[switchboard: raw answer cut at 1 MiB]"

  defp one_client(sc), do: registry!(%{clients: [openai("O", sc)]})

  defp final(stream), do: List.last(Enum.to_list(stream)).response

  test "a plain answer's body, with the fields Switchboard does not map" do
    body =
      ~s({"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini",) <>
        ~s("system_fingerprint":"fp_raw_42","choices":[{"index":0,"message":) <>
        ~s({"role":"assistant","content":"Hi"},"finish_reason":"stop"}]})

    reg = one_client(scripted([%{body: body}]))

    assert {:ok, %Response{content: "Hi", finish: :stop, raw: ^body}} =
             Switchboard.call(reg, "hi", raw_response: true)
  end

  test "a streamed answer's text as received: its data lines and [DONE]" do
    reg = one_client(scripted([%{content: "Hello there", chunks: 3}]))

    response = final(Switchboard.stream(reg, "hi", raw_response: true))
    assert response.content == "Hello there"
    assert is_binary(response.raw)
    assert response.raw =~ ~r/^data: \{/m
    assert response.raw =~ "data: [DONE]"
    assert response.raw =~ "\"finish_reason\":\"stop\""
  end

  test "off by default, and with raw_response: false" do
    sc = scripted([%{content: "a"}, %{content: "b"}, %{content: "c"}])
    reg = one_client(sc)

    assert {:ok, %Response{content: "a", raw: nil}} = Switchboard.call(reg, "hi")

    assert {:ok, %Response{content: "b", raw: nil}} =
             Switchboard.call(reg, "hi", raw_response: false)

    assert %Response{content: "c", raw: nil} = final(Switchboard.stream(reg, "hi"))
  end

  test "an answer over 1 MiB is cut there with the marker; the call succeeds" do
    content = String.duplicate("é", 600_000)
    reg = one_client(scripted([%{content: content}, %{content: content}]))

    assert {:ok, %Response{content: ^content, raw: raw}} =
             Switchboard.call(reg, "hi", raw_response: true)

    assert String.ends_with?(raw, @marker)
    assert String.valid?(raw)
    kept = byte_size(raw) - byte_size(@marker)
    assert kept <= 1_048_576 and kept > 1_048_576 - 4

    streamed = final(Switchboard.stream(reg, "hi", raw_response: true))
    assert streamed.content == content
    assert String.ends_with?(streamed.raw, @marker) and String.valid?(streamed.raw)
    assert byte_size(streamed.raw) - byte_size(@marker) <= 1_048_576
  end

  test "with a fallback, the raw answer of the attempt that answered" do
    a = scripted([%{status: 503, body: ~s({"error":{"message":"down"}})}])
    b = scripted([%{content: "from B"}])
    reg = fallback_registry!([openai("A", a), openai("B", b)])

    assert {:ok, %Response{client: "B", content: "from B", raw: raw, attempts: [_, _]}} =
             Switchboard.call(reg, "hi", raw_response: true)

    assert raw =~ "from B"
    refute raw =~ "down"
  end

  test "Bedrock's binary event stream: the JSON payloads of its events, one per line" do
    Switchboard.AwsEnv.isolate!()
    sc = scripted([%{content: "Hello there", chunks: 2}])
    reg = registry!(%{clients: [dialect_client("B", "aws-bedrock", sc)]})

    response = final(Switchboard.stream(reg, "hi", raw_response: true))
    assert response.content == "Hello there"
    lines = String.split(response.raw, "\n")
    assert length(lines) > 2
    assert Enum.all?(lines, &String.starts_with?(&1, "{"))
    assert Enum.any?(lines, &(&1 =~ ~s("stopReason")))
  end

  test "raw_response must be a boolean" do
    reg = one_client(scenario())

    assert_raise ArgumentError, ~r/option :raw_response must be a boolean/, fn ->
      Switchboard.call(reg, "hi", raw_response: :yes)
    end
  end
end
