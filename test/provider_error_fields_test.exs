defmodule Switchboard.ProviderErrorFieldsTest do
  @moduledoc """
  The provider's own error code and type reach `%Switchboard.Error{}` and
  each `%Switchboard.Attempt{}`'s error as strings, for every wire dialect,
  from HTTP error bodies and from errors sent in the middle of a stream,
  over real HTTP against the mock.
  """
  use Switchboard.Case, async: true

  alias Switchboard.GoogleHelpers

  defp fail(client_fun, steps) do
    sc = scripted(steps)
    reg = registry!(%{clients: [client_fun.(sc)]})
    Switchboard.call(reg, "hi")
  end

  defp stream_fail(client_fun, steps) do
    sc = scripted(steps)
    reg = registry!(%{clients: [client_fun.(sc)]})
    call = Switchboard.stream_to(reg, "hi")
    ref = call.ref
    await_terminal(ref)
  end

  defp await_terminal(ref) do
    receive do
      {^ref, {:chunk, _}} -> await_terminal(ref)
      {^ref, {:reset, _}} -> await_terminal(ref)
      {^ref, result} -> result
    end
  end

  describe "HTTP error bodies" do
    test "OpenAI: error.code and error.type" do
      assert {:error, %Error{} = e} = fail(&openai("A", &1), [%{status: 429}])

      assert {e.kind, e.provider_code, e.provider_type} ==
               {:rate_limited, "rate_limit_exceeded", "requests"}

      assert [%Attempt{error: %Error{provider_code: "rate_limit_exceeded"}}] = e.attempts

      assert {:error, %Error{} = e} = fail(&openai("A", &1), [%{status: 401}])
      assert {e.provider_code, e.provider_type} == {"invalid_api_key", "invalid_request_error"}

      # No code in the body: nil, not an empty string.
      assert {:error, %Error{} = e} = fail(&openai("A", &1), [%{status: 500}])
      assert {e.provider_code, e.provider_type} == {nil, "server_error"}
    end

    test "Anthropic: error.type" do
      assert {:error, %Error{} = e} = fail(&anthropic("A", &1), [%{status: 529}])
      assert {e.kind, e.provider_code, e.provider_type} == {:overloaded, nil, "overloaded_error"}
    end

    test "Gemini: error.status" do
      assert {:error, %Error{} = e} =
               fail(&GoogleHelpers.google_ai("A", &1, %{}), [%{status: 429}])

      assert {e.kind, e.provider_code, e.provider_type} ==
               {:rate_limited, nil, "RESOURCE_EXHAUSTED"}
    end

    test "Bedrock: the exception named by x-amzn-errortype" do
      assert {:error, %Error{} = e} =
               fail(&dialect_client("A", "aws-bedrock", &1), [%{status: 429}])

      assert {e.kind, e.provider_code, e.provider_type} ==
               {:rate_limited, nil, "ThrottlingException"}
    end

    test "Responses: a failed response's error.code" do
      assert {:error, %Error{} = e} =
               fail(&dialect_client("A", "openai-responses", &1), [
                 %{finish_reason: "failed", error_type: "rate_limit_exceeded"}
               ])

      assert {e.kind, e.provider_code} == {:rate_limited, "rate_limit_exceeded"}
    end

    test "a body that is not JSON has neither" do
      assert {:error, %Error{} = e} =
               fail(&openai("A", &1), [%{status: 502, body: "<html>bad gateway</html>"}])

      assert {e.kind, e.provider_code, e.provider_type} == {:server, nil, nil}
    end
  end

  describe "errors in the middle of a stream" do
    test "Anthropic's error event" do
      assert {:error, %Error{} = e} =
               stream_fail(&anthropic("A", &1), [
                 %{error_after: 1, error_type: "overloaded_error"}
               ])

      assert {e.kind, e.provider_type} == {:overloaded, "overloaded_error"}
    end

    test "OpenAI's error payload" do
      assert {:error, %Error{} = e} = stream_fail(&openai("A", &1), [%{error_after: 1}])
      assert {e.kind, e.provider_type} == {:server, "server_error"}
    end

    test "Gemini's error object" do
      assert {:error, %Error{} = e} =
               stream_fail(&GoogleHelpers.google_ai("A", &1, %{}), [
                 %{error_after: 1, error_type: "UNAVAILABLE"}
               ])

      assert {e.kind, e.provider_type} == {:overloaded, "UNAVAILABLE"}
    end

    test "Bedrock's exception frame" do
      assert {:error, %Error{} = e} =
               stream_fail(&dialect_client("A", "aws-bedrock", &1), [
                 %{error_after: 1, error_type: "throttlingException"}
               ])

      assert {e.kind, e.provider_type} == {:rate_limited, "throttlingException"}
    end

    test "Responses' error event" do
      assert {:error, %Error{} = e} =
               stream_fail(&dialect_client("A", "openai-responses", &1), [
                 %{error_after: 1, error_type: "server_error"}
               ])

      assert {e.kind, e.provider_code} == {:server, "server_error"}
    end
  end

  describe "recorded error bodies" do
    @describetag :conformance
    @failures "gemini/firebase-vertexai-sdk-test-data/mock-responses"

    for {file, status, code, type} <- [
          {"googleai/unary-failure-api-key.json", 400, "API_KEY_INVALID", "INVALID_ARGUMENT"},
          {"vertexai/unary-failure-quota-exceeded.json", 429, "RATE_LIMIT_EXCEEDED",
           "RESOURCE_EXHAUSTED"}
        ] do
      test "Gemini's #{file}" do
        path = Path.join([conformance_root(), @failures, unquote(file)])

        assert {:error, %Error{} = e} =
                 fail(&GoogleHelpers.google_ai("A", &1, %{}), [
                   %{status: unquote(status), body: File.read!(path)}
                 ])

        assert {e.status, e.provider_code, e.provider_type} ==
                 {unquote(status), unquote(code), unquote(type)}
      end
    end
  end
end
