defmodule Switchboard.ConfigErrorsTest do
  @moduledoc """
  Errors a user can act on, as a new user meets them: what was given, the
  name that was probably meant, every client's failure in a fallback, and
  an error object inside a 200 answer mapped by its code.
  """
  use Switchboard.Case, async: true

  defp config_error!(config) do
    assert {:error, %Error{kind: :config, message: message}} = Registry.new(config)
    message
  end

  defp leaf(name, provider, options),
    do: %{name: name, provider: provider, options: options}

  test "a negative or fractional number says what was given" do
    msg =
      config_error!(%{
        clients: [leaf("A", "openai", %{model: "m", http: %{request_timeout_ms: -5}})]
      })

    assert msg ==
             ~s(client "A" http: option "request_timeout_ms" must be a non-negative integer, got -5)

    msg = config_error!(%{clients: [leaf("A", "openai", %{model: "m", max_in_flight: 1.5})]})
    assert msg =~ ~s(option "max_in_flight" must be a non-negative integer, got 1.5)

    msg =
      config_error!(%{
        clients: [leaf("A", "openai", %{model: "m"})],
        retry_policies: %{"P" => %{max_retries: -1}}
      })

    assert msg =~ ~s(option "max_retries" must be a non-negative integer, got -1)

    # A string is described, never echoed: it may be a key pasted in the wrong place.
    msg =
      config_error!(%{
        clients: [leaf("A", "openai", %{model: "m", http: %{idle_timeout_ms: "sk-pasted-key"}})]
      })

    assert msg =~ "got a string"
    refute msg =~ "sk-pasted-key"
  end

  test "an unknown provider names the nearest known one and lists them all" do
    for {given, meant} <- [
          {"azure", "azure-openai"},
          {"bedrock", "aws-bedrock"},
          {"anthropc", "anthropic"},
          {"vertex", "vertex-ai"}
        ] do
      msg = config_error!(%{clients: [leaf("A", given, %{model: "m"})]})
      assert msg =~ ~s(client "A": unknown provider "#{given}"; did you mean "#{meant}"?)
      assert msg =~ "(known: openai, openai-generic, azure-openai, ollama, openrouter, anthropic,"
    end

    msg = config_error!(%{clients: [leaf("A", "gpt-magic", %{})]})
    assert msg =~ ~s|unknown provider "gpt-magic" (known: openai,|
    refute msg =~ "did you mean"

    # The same for a provider/model shorthand named in a call.
    reg = registry!(%{clients: [openai("A", scenario())]})

    assert {:error, %Error{kind: :config, message: msg}} =
             Switchboard.call(reg, "hi", client: "azure/gpt-4o")

    assert msg =~ ~s(did you mean "azure-openai"?)
  end

  test "a failed fallback summarises every client's failure and keeps the last one's kind" do
    a = scripted([%{status: 429}])
    b = scripted([%{status: 401}])
    c = scripted([%{status: 500}])
    reg = fallback_registry!([openai("A", a), openai("B", b), anthropic("C", c)])

    assert {:error, %Error{kind: :server, status: 500, client: "C"} = e} =
             Switchboard.call(reg, "hi")

    assert e.message =~
             ~s|every client of fallback "F" failed (A: rate_limited 429, B: auth 401, C: server 500); the last said: |

    assert Enum.map(e.attempts, &{&1.client, &1.status}) == [{"A", 429}, {"B", 401}, {"C", 500}]
  end

  describe "an error object inside a 200 answer is mapped by its code" do
    for {body, message, kind} <- [
          {~s({"error": {"message": "slow down", "code": 429}}), "slow down", :rate_limited},
          {~s({"error": {"message": "bad", "code": 400}}), "bad", :invalid_request},
          {~s({"error": {"message": "bad", "type": "invalid_request_error"}}), "bad",
           :invalid_request},
          {~s({"error": {"message": "quota", "code": "rate_limit_exceeded"}}), "quota",
           :rate_limited},
          {~s({"error": {"message": "upstream", "code": 502}}), "upstream", :server},
          {~s({"error": {"message": "new", "code": "something_new"}}), "new", :server}
        ] do
      test "#{body} is #{kind}" do
        sc = scripted([%{status: 200, body: unquote(body)}])
        reg = registry!(%{clients: [openai("A", sc)]})

        assert {:error, %Error{kind: unquote(kind)} = e} = Switchboard.call(reg, "hi")
        assert e.message == unquote(message)
        assert [%Attempt{status: 200}] = e.attempts
      end
    end
  end
end
