defmodule Switchboard.StructuredProvidersTest do
  @moduledoc """
  `output_schema:` on every wire dialect, over HTTP: each provider answers
  in its own way (a JSON text, or the forced `json_output` tool on
  Anthropic and Bedrock) and the response's `parsed` is the same.
  """
  use Switchboard.Case, async: true

  @schema %{
    type: "object",
    properties: %{
      status: %{type: "string", enum: ["healthy", "degraded"]},
      errors: %{type: "integer"}
    },
    required: ["status", "errors"],
    additionalProperties: false
  }

  setup do
    Switchboard.AwsEnv.isolate!()
    :ok
  end

  # How each dialect's model answers when asked for JSON.
  defp answer(provider) when provider in ["anthropic", "aws-bedrock"],
    do: %{tool_calls: [%{name: "json_output", arguments: %{status: "healthy", errors: "2"}}]}

  defp answer(_provider), do: %{content: ~s(```json\n{"status": "healthy", "errors": 2,}\n```)}

  for provider <- ~w(openai anthropic google-ai aws-bedrock openai-responses) do
    test "#{provider}: the answer is decoded into parsed, plain and streamed" do
      provider = unquote(provider)
      sc = scripted(List.duplicate(answer(provider), 2))
      reg = registry!(%{primary: "P", clients: [dialect_client("P", provider, sc)]})

      assert {:ok, resp} = Switchboard.call(reg, "How is it?", output_schema: @schema)
      assert resp.parsed == %{"status" => "healthy", "errors" => 2}
      assert (resp.tool_calls == [] and resp.finish != :tool_calls) or provider == "aws-bedrock"

      chunks = reg |> Switchboard.stream("How is it?", output_schema: @schema) |> Enum.to_list()
      assert %{response: %Response{parsed: parsed}} = List.last(chunks)
      assert parsed == %{"status" => "healthy", "errors" => 2}
      # The forced tool is an implementation detail: no chunk announces it.
      assert Enum.flat_map(chunks, & &1.tool_calls) == []
    end

    test "#{provider}: a value outside the enum is a :bad_response naming the path, not retried" do
      provider = unquote(provider)
      bad = %{tool_calls: [%{name: "json_output", arguments: %{status: "on fire", errors: 0}}]}

      step =
        if provider in ["anthropic", "aws-bedrock"],
          do: bad,
          else: %{content: ~s({"status": "on fire", "errors": 0})}

      sc = scripted([step, step])

      client = dialect_client("P", provider, sc) |> Map.put(:retry_policy, "DefaultRetry")
      reg = registry!(%{primary: "P", clients: [client]})

      assert {:error, %Error{kind: :bad_response, message: message, attempts: [_one]}} =
               Switchboard.call(reg, "How is it?", output_schema: @schema)

      assert message =~ "/status"
    end
  end
end
