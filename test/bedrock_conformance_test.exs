defmodule Switchboard.BedrockConformanceTest do
  @moduledoc """
  Every recorded Bedrock Converse and ConverseStream exchange in
  ../shared/conformance (req_llm cassettes: whole bodies, and event-stream
  bodies read by read exactly as recorded), replayed by the mock server
  through the real client path, plus the recorded error answers (a 503
  throttle, a signature rejection, an in-stream validation exception).
  Expected values are read from the recordings: stream bodies are cut into
  event-stream frames here and their JSON payloads read through the mock.

  InvokeModel recordings (`/invoke`, `/invoke-with-response-stream`) are a
  different API with each vendor's own body format; Switchboard speaks
  Converse, so only their error answers, which share Bedrock's error shape,
  are replayed.
  """
  use Switchboard.Case, async: true

  @moduletag :conformance

  @root Switchboard.Case.conformance_root()
  @all Path.wildcard(Path.join(@root, "bedrock/**/*.json"))

  # Decided textually at compile time (the Elixir side has no JSON library).
  @converse Enum.filter(@all, &(File.read!(&1) =~ ~r{"url"\s*:\s*"[^"]*/converse(-stream)?"}))
  @invoke_errors Enum.filter(@all, fn path ->
                   raw = File.read!(path)
                   raw =~ ~r{"url"\s*:\s*"[^"]*/invoke"} and raw =~ "x-amzn-errortype"
                 end)

  @keys %{
    access_key_id: "AKIDEXAMPLE",
    secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
  }

  test "the corpus has Bedrock recordings to replay" do
    assert length(@converse) >= 50

    assert Enum.any?(
             @converse,
             &String.ends_with?(&1, "converse_stream_validation_exception.json")
           )

    assert Enum.any?(
             @invoke_errors,
             &String.ends_with?(&1, "amazon_bedrock_basic_503_throttled.json")
           )
  end

  # --- what a recording says the answer is --------------------------------

  defp usage(nil), do: nil

  defp usage(u) do
    {read, written} = {u["cacheReadInputTokens"], u["cacheWriteInputTokens"]}

    input =
      if u["inputTokens"] || read || written,
        do: (u["inputTokens"] || 0) + (read || 0) + (written || 0)

    output = u["outputTokens"]

    %Usage{
      input_tokens: input,
      output_tokens: output,
      total_tokens: if(input || output, do: (input || 0) + (output || 0), else: u["totalTokens"]),
      cached_input_tokens: read,
      cache_creation_input_tokens: written
    }
  end

  defp kind("ThrottlingException"), do: :rate_limited
  defp kind("ServiceUnavailableException"), do: :overloaded
  defp kind("ValidationException"), do: :invalid_request
  defp kind("AccessDeniedException"), do: :permission
  defp kind("InvalidSignatureException"), do: :auth
  defp kind("UnrecognizedClientException"), do: :auth
  defp kind("ExpiredTokenException"), do: :auth
  defp kind("ResourceNotFoundException"), do: :not_found
  defp kind("InternalServerException"), do: :server
  defp kind("ModelStreamErrorException"), do: :server

  defp kind(<<first::utf8, rest::binary>>) when first in ?a..?z,
    do: kind(String.upcase(<<first::utf8>>) <> rest)

  defp error_type(headers) do
    value =
      case headers["x-amzn-errortype"] do
        [v | _] -> v
        v -> v
      end

    value |> String.split(":") |> hd()
  end

  # Payloads are JSON; the mock decodes them.
  defp payloads(frames) do
    Mock.decode_json(mock(), ["[", Enum.map_join(frames, ",", &elem(&1, 1)), "]"])
  end

  defp expect_stream(cassette) do
    body = cassette["chunks"] |> Enum.map(&Base.decode64!(&1["b64"])) |> IO.iodata_to_binary()
    frames = Switchboard.EventStream.frames(body)
    events = Enum.zip(Enum.map(frames, &elem(&1, 0)), payloads(frames))

    case Enum.find(events, fn {h, _} -> h[":message-type"] == "exception" end) do
      {h, p} ->
        {:error, kind(h[":exception-type"]), p["message"]}

      nil ->
        of = fn type -> for {%{":event-type" => ^type}, p} <- events, do: p end

        text = for %{"delta" => %{"text" => t}} <- of.("contentBlockDelta"), into: "", do: t

        stop = of.("messageStop") |> Enum.map(& &1["stopReason"]) |> List.last()
        meta = of.("metadata") |> Enum.map(& &1["usage"]) |> List.last()
        {:ok, text, stop, usage(meta)}
    end
  end

  defp expect_whole(%{"status" => 200, "body" => body}) do
    text = for %{"text" => t} <- body["output"]["message"]["content"], into: "", do: t
    {:ok, text, body["stopReason"], usage(body["usage"])}
  end

  defp expect_whole(%{"status" => status, "headers" => headers, "body" => body}) do
    {:error, kind(error_type(headers)), status, body["message"]}
  end

  defp bedrock(sc) do
    %{
      name: "B",
      provider: "aws-bedrock",
      options:
        Map.merge(@keys, %{
          model: "anthropic.claude-haiku-4-5-20251001-v1:0",
          region: "us-east-1",
          endpoint_url: Mock.base_url(mock(), sc)
        })
    }
  end

  # --- replay ----------------------------------------------------------------

  for path <- @converse do
    @path path
    test "replays #{Path.relative_to(path, @root)}" do
      cassette = Mock.read_json(mock(), @path)
      sc = scripted([%{replay_cassette: @path}])
      reg = registry!(%{clients: [bedrock(sc)]})
      streamed = String.ends_with?(cassette["request"]["url"], "/converse-stream")

      if streamed do
        chunks = reg |> Switchboard.stream("Hello world!") |> Enum.to_list()
        assert [req] = requests(sc)
        assert String.ends_with?(req["path"], "/converse-stream")

        case expect_stream(cassette) do
          {:ok, text, stop, usage} ->
            %Switchboard.Chunk{response: resp} = List.last(chunks)
            assert Enum.map_join(chunks, & &1.text) == text
            assert resp.content == text
            assert resp.finish_reason == stop
            assert resp.usage == (usage || %Usage{})

          {:error, kind, message} ->
            flunk("expected #{kind} (#{message}), got #{length(chunks)} chunks")
        end
      else
        result = Switchboard.call(reg, "Hello world!")

        case expect_whole(cassette["response"]) do
          {:ok, text, stop, usage} ->
            assert {:ok, %Response{} = resp} = result
            assert resp.content == text
            assert resp.finish_reason == stop
            assert resp.usage == usage

          {:error, kind, status, message} ->
            assert {:error, %Error{kind: ^kind, status: ^status, message: got}} = result
            assert got =~ message
        end
      end
    rescue
      e in Error ->
        # Switchboard.stream/3 raises a stream's error: an in-stream exception.
        cassette = Mock.read_json(mock(), @path)
        assert {:error, kind, message} = expect_stream(cassette)
        assert e.kind == kind and e.status == 200
        assert e.message =~ message
    end
  end

  for path <- @invoke_errors do
    @path path
    test "replays the error answer of #{Path.relative_to(path, @root)}" do
      cassette = Mock.read_json(mock(), @path)
      sc = scripted([%{replay_cassette: @path}])
      reg = registry!(%{clients: [bedrock(sc)]})
      {:error, kind, status, message} = expect_whole(cassette["response"])

      assert {:error, %Error{kind: ^kind, status: ^status, message: got, raw_response: raw} = e} =
               Switchboard.call(reg, "Hello world!")

      assert got =~ message and raw =~ message
      # The exception's name, as a program can match on it.
      assert e.provider_type == error_type(cassette["response"]["headers"])
    end
  end
end
