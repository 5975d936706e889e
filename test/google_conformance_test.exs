defmodule Switchboard.GoogleConformanceTest do
  @moduledoc """
  Every Gemini and Vertex AI recording in ../shared/conformance replayed by
  the mock server through the real client path: the Firebase SDKs' mock
  responses (CRLF and LF streams, unknown enums, safety blocks, quota and
  other errors, an error mid-stream, invalid JSON) and the req_llm Gemini
  and Vertex cassettes (Gemini and Claude, plain and streamed, read by read
  as recorded; Vertex's Gemini streams are recorded as one JSON array).

  What each recording should read to is computed here from the recording
  itself, with plain loops: the JSON is decoded by the mock (the Elixir
  side has no JSON library), the stream split into events by hand.
  """
  use Switchboard.Case, async: true
  import Switchboard.GoogleHelpers

  @moduletag :conformance

  @root Switchboard.Case.conformance_root()
  @firebase Path.wildcard(
              Path.join(
                @root,
                "gemini/firebase-vertexai-sdk-test-data/mock-responses/{googleai,vertexai}/*.*"
              )
            )
  @cassettes Path.wildcard(Path.join(@root, "{gemini,vertex}/req_llm/**/*.json"))

  # Google's status names, as Switchboard documents them.
  @kinds %{
    "RESOURCE_EXHAUSTED" => :rate_limited,
    "UNAVAILABLE" => :overloaded,
    "INVALID_ARGUMENT" => :invalid_request,
    "FAILED_PRECONDITION" => :invalid_request,
    "UNAUTHENTICATED" => :auth,
    "PERMISSION_DENIED" => :permission,
    "NOT_FOUND" => :not_found,
    "DEADLINE_EXCEEDED" => :timeout,
    "INTERNAL" => :server,
    "CANCELLED" => :server
  }

  # --- decoding recordings ---------------------------------------------------

  # A JSON text as a term, through the mock; :invalid when it is not JSON.
  defp decode(text) do
    Mock.decode_json(mock(), text)
  rescue
    # Only the mock's answer that the text is not JSON; any other failure
    # (the mock unreachable on a loaded machine) must fail the test as
    # itself, not turn into an expected `:bad_response`.
    e in ArgumentError ->
      if e.message =~ "invalid JSON", do: :invalid, else: reraise(e, __STACKTRACE__)
  end

  # A stream body's objects, in order: the JSON of each event's `data:`
  # lines, or of a block with no field at all (Google's bare error object,
  # or a whole JSON-array stream, whose items are taken in turn).
  defp stream_objects(body) do
    body
    |> String.split(~r/\r\n\r\n|\n\n|\r\r/)
    |> Enum.map(&String.trim/1)
    |> Enum.reject(&(&1 == ""))
    |> Enum.flat_map(fn block ->
      lines = String.split(block, ~r/\r\n|\n|\r/)

      text =
        if Enum.any?(lines, &String.starts_with?(&1, "data:")),
          do: for("data:" <> d <- lines, do: String.trim_leading(d, " ")) |> Enum.join("\n"),
          else: block

      case decode(text) do
        items when is_list(items) -> items
        other -> [other]
      end
    end)
  end

  defp cassette_body(cassette) do
    case {cassette["chunks"], cassette["response"]["body"]} do
      {[_ | _] = chunks, _} -> Enum.map_join(chunks, &Base.decode64!(&1["b64"]))
      {_, %{"b64" => b64}} -> Base.decode64!(b64)
      {_, body} -> body
    end
  end

  # --- what a recording says the answer is -----------------------------------

  defp error_kind(%{"status" => status}) when is_map_key(@kinds, status), do: @kinds[status]
  defp error_kind(%{"code" => 429}), do: :rate_limited
  defp error_kind(%{"code" => code}) when code >= 500, do: :server

  # Keys of a Gemini part that describe it rather than hold data.
  @part_metadata [
    "thought",
    "thoughtSignature",
    "videoMetadata",
    "partMetadata",
    "mediaResolution"
  ]

  # Whether the first candidate has a part Switchboard does not read
  # (`inlineData`, `executableCode`, `codeExecutionResult`, ...): such an
  # answer is a :bad_response rather than one with a part dropped.
  defp unread_part?(response) do
    case response["candidates"] do
      [candidate | _] ->
        Enum.any?(get_in(candidate, ["content", "parts"]) || [], fn part ->
          keys = Map.keys(part) -- @part_metadata
          keys != [] and not Enum.any?(keys, &(&1 in ["text", "functionCall"]))
        end)

      _ ->
        false
    end
  end

  # One `generateContent` answer.
  defp expect_unary(%{"error" => error}), do: {:error, error_kind(error)}

  defp expect_unary(%{} = body) do
    cond do
      get_in(body, ["promptFeedback", "blockReason"]) ->
        {:error, :invalid_request}

      unread_part?(body) ->
        {:error, :bad_response}

      body["candidates"] in [nil, []] ->
        {:error, :bad_response}

      gemini_text(body) == "" and gemini_finish_reason(body) == nil ->
        {:error, :bad_response}

      gemini_text(body) == "" and gemini_finish_reason(body) != "STOP" ->
        {:error, :finish_reason}

      true ->
        {:ok, gemini_text(body), gemini_finish_reason(body), gemini_usage(body["usageMetadata"]),
         body["modelVersion"]}
    end
  end

  defp expect_unary(_not_an_object), do: {:error, :bad_response}

  # A Gemini stream's objects, folded as a reader must.
  defp expect_stream(objects) do
    folded =
      Enum.reduce_while(objects, %{text: "", finish: nil, usage: nil, model: nil}, fn
        %{"error" => error}, _ ->
          {:halt, {:error, error_kind(error)}}

        :invalid, _ ->
          {:halt, {:error, :bad_response}}

        obj, acc ->
          cond do
            get_in(obj, ["promptFeedback", "blockReason"]) ->
              {:halt, {:error, :invalid_request}}

            unread_part?(obj) ->
              {:halt, {:error, :bad_response}}

            true ->
              {:cont,
               %{
                 text: acc.text <> gemini_text(obj),
                 finish: gemini_finish_reason(obj) || acc.finish,
                 usage: obj["usageMetadata"] || acc.usage,
                 model: obj["modelVersion"] || acc.model
               }}
          end
      end)

    case folded do
      {:error, _} = error -> error
      %{finish: nil} -> {:error, :network}
      %{text: "", finish: reason} when reason != "STOP" -> {:error, :finish_reason}
      f -> {:ok, f.text, f.finish, gemini_usage(f.usage), f.model}
    end
  end

  defp expect_claude_unary(body) do
    text = for %{"type" => "text", "text" => t} <- body["content"], into: "", do: t
    {:ok, text, body["stop_reason"], recorded_usage(:anthropic, body["usage"]), body["model"]}
  end

  defp expect_claude_stream(objects) do
    start = Enum.find_value(objects, %{}, &(&1["type"] == "message_start" && &1["message"]))
    deltas = for %{"type" => "message_delta"} = d <- objects, do: d
    usage = Enum.reduce(deltas, start["usage"], &Map.merge(&2, &1["usage"] || %{}))

    text =
      for o <- objects, into: "" do
        case o do
          %{"type" => "content_block_delta", "delta" => %{"type" => "text_delta", "text" => t}} ->
            t

          %{"type" => "content_block_start", "content_block" => %{"type" => "text", "text" => t}} ->
            t

          _ ->
            ""
        end
      end

    reason =
      deltas |> Enum.map(& &1["delta"]["stop_reason"]) |> Enum.reject(&is_nil/1) |> List.last()

    {:ok, text, reason, recorded_usage(:anthropic, usage), start["model"]}
  end

  # --- replay and compare ------------------------------------------------------

  defp client(:googleai, sc, _model), do: google_ai("C", sc)

  defp client(:vertexai, sc, model),
    do: vertex("C", sc, %{model: model, query_params: %{key: "k"}})

  defp run(step, family, model, streamed?) do
    sc = scripted([step])
    reg = registry!(%{clients: [client(family, sc, model)]})

    if streamed? do
      call = Switchboard.stream_to(reg, "Hello", window: :infinity)
      ref = call.ref
      collect_stream(ref, "")
    else
      case Switchboard.call(reg, "Hello") do
        {:ok, resp} -> {:ok, resp, resp.content}
        error -> error
      end
    end
  end

  defp collect_stream(ref, text) do
    receive do
      {^ref, {:chunk, chunk}} -> collect_stream(ref, text <> chunk.text)
      {^ref, {:reset, _}} -> collect_stream(ref, "")
      {^ref, {:ok, resp}} -> {:ok, resp, text}
      {^ref, {:error, _} = error} -> error
    after
      10_000 -> flunk("no terminal message")
    end
  end

  defp check(result, expected, label) do
    case {expected, result} do
      {{:ok, content, finish_reason, usage, model}, {:ok, resp, streamed}} ->
        assert resp.content == content, label
        assert streamed == content, label
        assert resp.finish_reason == finish_reason, label
        assert resp.usage == usage, label
        if model, do: assert(resp.model == model, label)

      {{:error, kind}, {:error, %Error{kind: got} = e}} ->
        assert got == kind, "#{label}: #{Exception.message(e)}"

      _ ->
        flunk("#{label}: expected #{inspect(expected)}, got #{inspect(result)}")
    end
  end

  test "the corpus has Gemini and Vertex recordings to replay" do
    assert length(@firebase) > 120
    assert length(@cassettes) >= 40
  end

  for path <- @firebase do
    @path path
    test "firebase #{Path.relative_to(path, @root)}" do
      family = @path |> Path.dirname() |> Path.basename() |> String.to_atom()
      raw = File.read!(@path)
      label = Path.basename(@path)
      streamed? = String.starts_with?(label, "streaming-")

      {step, expected} =
        cond do
          String.starts_with?(raw, "data:") ->
            {%{replay_file: @path}, expect_stream(stream_objects(raw))}

          Path.extname(@path) == ".html" ->
            # Google's front end for an unknown location: a 404 page.
            {%{status: 404, body: raw, content_type: "text/html"}, {:error, :not_found}}

          true ->
            body = decode(raw)
            status = if is_map(body["error"]), do: body["error"]["code"], else: 200
            {%{status: status, body: raw}, expect_unary(body)}
        end

      run(step, family, "gemini-2.0-flash", streamed?) |> check(expected, label)
    end
  end

  # A prime split lands mid-line, mid-CRLF and mid-character all over a stream.
  for path <- @firebase, String.ends_with?(path, ".txt") and File.read!(path) =~ ~r/\Adata:/ do
    @path path
    test "firebase #{Path.relative_to(path, @root)} split into 61-byte reads" do
      family = @path |> Path.dirname() |> Path.basename() |> String.to_atom()
      expected = expect_stream(stream_objects(File.read!(@path)))

      run(%{replay_file: @path, split_bytes: 61}, family, "gemini-2.0-flash", true)
      |> check(expected, Path.basename(@path))
    end
  end

  for path <- @cassettes do
    @path path
    test "req_llm #{Path.relative_to(path, @root)}" do
      cassette = Mock.read_json(mock(), @path)
      url = cassette["request"]["url"]
      [_, model, _method] = Regex.run(~r{/models/([^/:]+):(\w+)}, url)
      streamed? = url =~ ":stream"
      claude? = String.starts_with?(model, "claude")
      family = if url =~ "aiplatform", do: :vertexai, else: :googleai
      body = cassette_body(cassette)
      assert cassette["response"]["status"] == 200

      expected =
        case {claude?, streamed?} do
          {false, false} -> expect_unary(body)
          {false, true} -> expect_stream(stream_objects(body))
          {true, false} -> expect_claude_unary(body)
          {true, true} -> expect_claude_stream(stream_objects(body))
        end

      run(%{replay_cassette: @path}, family, model, streamed?)
      |> check(expected, Path.relative_to(@path, @root))
    end
  end
end
