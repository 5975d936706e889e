defmodule Switchboard.StructuredOutputTest do
  # Structured output over real HTTP: an OpenAI client on the mock answers
  # scripted text, and the engine decodes it against `output_schema:`.
  use Switchboard.Case, async: true

  @schema %{
    "type" => "object",
    "required" => ["healthy", "score", "checks"],
    "properties" => %{
      "healthy" => %{"type" => "boolean"},
      "score" => %{"type" => "integer"},
      "note" => %{"type" => "string"},
      "checks" => %{
        "type" => "array",
        "items" => %{
          "type" => "object",
          "required" => ["name", "status"],
          "properties" => %{
            "name" => %{"type" => "string"},
            "status" => %{"enum" => ["ok", "warn", "fail"]}
          }
        }
      }
    }
  }

  @clean ~s({"healthy": true, "score": 7, "checks": [{"name": "db", "status": "ok"}]})
  @parsed %{"healthy" => true, "score" => 7, "checks" => [%{"name" => "db", "status" => "ok"}]}

  defp call(content, opts \\ []) do
    sc = scripted([%{content: content}])
    reg = registry!(%{clients: [openai("A", sc, %{}, "DefaultRetry")]})
    {Switchboard.call(reg, "Report the node's health", [output_schema: @schema] ++ opts), sc}
  end

  test "a clean answer arrives decoded in parsed, its text kept in content" do
    assert {{:ok, %Response{} = resp}, _sc} = call(@clean)
    assert resp.parsed == @parsed
    assert resp.content == @clean
    assert resp.tool_calls == []
  end

  test "without output_schema nothing is parsed" do
    sc = scripted([%{content: @clean}])
    reg = registry!(%{clients: [openai("A", sc)]})
    assert {:ok, %Response{parsed: nil, content: @clean}} = Switchboard.call(reg, "hi")
  end

  describe "lenient decoding" do
    for {name, content} <- [
          {"a markdown fence", "```json\n#{@clean}\n```"},
          {"prose before and after", "Here is the report {as asked}:\n#{@clean}\nAnything else?"},
          {"trailing commas",
           ~s({"healthy": true, "score": 7, "checks": [{"name": "db", "status": "ok",},],})}
        ] do
      test "reads through #{name}" do
        assert {{:ok, %Response{parsed: parsed}}, _} = call(unquote(content))
        assert parsed == @parsed
      end
    end

    test ~s(coerces "42" to 42 and "true" to true where the schema wants them) do
      content = ~s({"healthy": "true", "score": "42", "checks": []})
      assert {{:ok, resp}, _} = call(content)
      assert resp.parsed == %{"healthy" => true, "score" => 42, "checks" => []}
    end
  end

  describe "strict schema" do
    for {name, content, path} <- [
          {"a missing required field",
           ~s({"healthy": true, "score": 1, "checks": [{"name": "db"}]}),
           "/checks/0/status: missing required field"},
          {"a wrong type", ~s({"healthy": true, "score": 1, "note": 5, "checks": []}),
           "/note: want string, but got number"},
          {"a value outside the enum",
           ~s({"healthy": true, "score": 1, "checks": [{"name": "db", "status": "bad"}]}),
           "/checks/0/status: value must be one of"}
        ] do
      test "#{name} is a :bad_response naming the path, not retried" do
        content = unquote(content)
        # A second, good answer would be there for a retry to take.
        sc = scripted([%{content: content}, %{content: @clean}])
        reg = registry!(%{clients: [openai("A", sc, %{}, "DefaultRetry")]})

        assert {:error, %Error{kind: :bad_response} = e} =
                 Switchboard.call(reg, "hi", output_schema: @schema)

        assert e.message =~ unquote(path)
        assert e.raw_response == content
        assert e.client == "A"
        assert [%Attempt{error: %Error{kind: :bad_response}}] = e.attempts
        assert length(requests(sc)) == 1
      end
    end

    test "an answer cut at the token limit says so" do
      sc = scripted([%{content: ~s({"healthy": true, "sc), finish_reason: "length"}])
      reg = registry!(%{clients: [openai("A", sc)]})

      assert {:error, %Error{kind: :bad_response} = e} =
               Switchboard.call(reg, "hi", output_schema: @schema)

      assert e.message =~ "stopped at the output token limit"
    end

    test "text that is no JSON is a :bad_response with the text kept" do
      assert {{:error, %Error{kind: :bad_response} = e}, sc} = call("I cannot help with that.")
      assert e.message =~ "not valid JSON"
      assert e.raw_response == "I cannot help with that."
      assert length(requests(sc)) == 1
    end
  end

  test "retry_invalid_output: true lets the retry policy repeat a schema failure" do
    sc = scripted([%{content: ~s({"healthy": true})}, %{content: @clean}])
    reg = registry!(%{clients: [openai("A", sc, %{}, "DefaultRetry")]})

    assert {:ok, resp} =
             Switchboard.call(reg, "hi", output_schema: @schema, retry_invalid_output: true)

    assert resp.parsed == @parsed

    assert [%Attempt{error: %Error{kind: :bad_response} = e}, %Attempt{status: 200}] =
             resp.attempts

    assert e.message =~ "/score: missing required field"
    assert length(requests(sc)) == 2
  end

  test "a fallback moves on from an answer that misses the schema" do
    bad = scripted([%{content: "```json\n{\"healthy\": \"maybe\"}\n```"}, %{content: @clean}])
    good = scripted([%{content: @clean}])

    reg = fallback_registry!([openai("Bad", bad, %{}, "DefaultRetry"), openai("Good", good)])

    assert {:ok, resp} = Switchboard.call(reg, "hi", output_schema: @schema)
    assert resp.client == "Good"
    assert resp.parsed == @parsed
    assert attempt_clients(resp) == ["Bad", "Good"]
    assert [%Attempt{error: %Error{kind: :bad_response, client: "Bad"}}, _] = resp.attempts
    assert length(requests(bad)) == 1
  end

  test "a streamed call streams the text and parsed arrives on the final response" do
    sc = scripted([%{content: @clean, chunks: 4}])
    reg = registry!(%{clients: [openai("A", sc)]})

    {messages, {:ok, resp}} = collect(Switchboard.stream_to(reg, "hi", output_schema: @schema))

    assert length(for {:chunk, _} <- messages, do: :chunk) > 1
    assert text(messages) == @clean
    assert resp.parsed == @parsed
  end

  test "a streamed answer that misses the schema fails after its text streamed" do
    sc = scripted([%{content: ~s({"healthy": true, "score": 1, "checks": [1]}), chunks: 2}])
    reg = registry!(%{clients: [openai("A", sc, %{}, "DefaultRetry")]})

    {messages, {:error, %Error{kind: :bad_response} = e}} =
      collect(Switchboard.stream_to(reg, "hi", output_schema: @schema))

    assert e.message =~ "/checks/0: want object, but got number"
    assert [{:reset, %Attempt{client: "A"}}] = for({:reset, _} = r <- messages, do: r)
    assert length(requests(sc)) == 1
  end

  test "an invalid schema is an :invalid_request before anything is sent" do
    sc = scripted([%{content: @clean}])
    reg = registry!(%{clients: [openai("A", sc)]})

    assert {:error, %Error{kind: :invalid_request} = e} =
             Switchboard.call(reg, "hi", output_schema: %{"type" => "objekt"})

    assert e.message =~ "output_schema is not a valid JSON Schema"
    assert e.attempts == []

    assert {:error, %Error{kind: :invalid_request}} =
             Switchboard.call(reg, "hi", output_schema: %{"$ref" => "file:///etc/passwd"})

    assert requests(sc) == []
  end

  test "retry_invalid_output must be a boolean" do
    reg = registry!(%{clients: [openai("A", scripted([]))]})

    assert_raise ArgumentError, ~r/option :retry_invalid_output must be a boolean/, fn ->
      Switchboard.call(reg, "hi", retry_invalid_output: :yes)
    end
  end
end
