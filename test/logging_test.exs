defmodule Switchboard.LoggingTest do
  # Changes `config :switchboard, :log` and captures every log: no other
  # test runs meanwhile.
  use Switchboard.Case, async: false

  import ExUnit.CaptureLog

  @metadata [:registry, :client, :provider, :status, :kind, :attempt]
  @secret "sk-logging-test-secret-7f3a"
  @prompt "PROMPT-TEXT-THAT-MUST-NOT-BE-LOGGED"

  setup do
    previous = Application.fetch_env(:switchboard, :log)

    on_exit(fn ->
      case previous do
        {:ok, value} -> Application.put_env(:switchboard, :log, value)
        :error -> Application.delete_env(:switchboard, :log)
      end
    end)

    Application.delete_env(:switchboard, :log)
    :ok
  end

  # An error body that quotes the client's key and the prompt, as a
  # provider's may: the message passes the provider's text on, so the key
  # must be removed from it (the prompt may stay: documented).
  defp echoing(status, type) do
    message = "bad key #{@secret} for #{@prompt}"
    %{status: status, body: ~s({"error":{"message":"#{message}","type":"#{type}"}})}
  end

  # A call whose first attempt fails with 500 and whose second answers,
  # then a call that fails for good, on a named registry: the log lines of
  # both, with their metadata. Each call's logs are written by then: the
  # dispatchers handled its events before the round trip here.
  defp failing_calls do
    sc = scripted([echoing(500, "server_error"), %{}, echoing(401, "invalid_api_key")])
    name = :"logging_test_#{System.unique_integer([:positive])}"

    config = %{
      clients: [
        openai("A", sc, %{api_key: @secret}, "Quick"),
        openai("B", sc, %{api_key: @secret})
      ],
      retry_policies: %{
        "Quick" => %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 10}}
      }
    }

    start_supervised!({Registry, name: name, client_registry: config})

    capture_log([metadata: @metadata, format: "$level $metadata| $message\n"], fn ->
      assert {:ok, _} = Switchboard.call(name, @prompt, client: "A")
      assert {:error, %Error{kind: :auth}} = Switchboard.call(name, @prompt, client: "B")
      for dispatcher <- Switchboard.Telemetry.dispatcher_names(), do: :sys.get_state(dispatcher)
    end)
    |> String.split("\n", trim: true)
    |> Enum.filter(&(&1 =~ "Switchboard:"))
    |> then(&{name, &1})
  end

  test "a failed attempt at :warning and a failed call at :error, with metadata, by default" do
    {name, lines} = failing_calls()

    assert [retried, failed_attempt, failed_call] = lines
    registry = "registry=#{name}"

    assert retried =~
             ~r/^warning .*#{registry}.* client=A provider=openai status=500 kind=server attempt=1 \| /

    assert retried =~ "attempt 1 on client \"A\" (openai) failed: server (HTTP 500)"

    assert failed_attempt =~ ~r/^warning .*client=B .*status=401 kind=auth attempt=1 \| /
    assert failed_call =~ ~r/^error .*client=B provider=openai status=401 kind=auth attempt=1 \| /
    assert failed_call =~ "Switchboard: call failed: auth (HTTP 401)"

    # The provider's text is passed on, its key removed.
    for line <- lines do
      assert line =~ "bad key [REDACTED] for"
      refute line =~ @secret
    end
  end

  test "the levels are configurable, and false turns logs off" do
    Application.put_env(:switchboard, :log, attempt: false, call: :warning)
    {_, lines} = failing_calls()
    assert [line] = lines
    assert line =~ ~r/^warning .*kind=auth.*Switchboard: call failed/

    Application.put_env(:switchboard, :log, false)
    assert {_, []} = failing_calls()
  end

  test "a circuit opening is logged once, at the attempt level; the attempts it refuses are not" do
    a = scripted([echoing(500, "server_error")])

    reg =
      fallback_registry!([
        openai("A", a, %{api_key: @secret, circuit_breaker: %{failure_threshold: 1}}),
        openai("B", scenario())
      ])

    log =
      capture_log([metadata: @metadata, format: "$level $metadata| $message\n"], fn ->
        assert {:ok, %Response{client: "B"}} = Switchboard.call(reg, @prompt)

        # The circuit is open (30 s): A refuses each call with no HTTP.
        for _ <- 1..3 do
          assert {:ok, %Response{client: "B", attempts: [refused, _]}} =
                   Switchboard.call(reg, @prompt)

          assert %Attempt{client: "A", error: %Error{kind: :circuit_open}} = refused
        end

        for dispatcher <- Switchboard.Telemetry.dispatcher_names(), do: :sys.get_state(dispatcher)
      end)

    lines = log |> String.split("\n") |> Enum.filter(&(&1 =~ "Switchboard:"))
    # The opening, and the one attempt that failed over HTTP: no more.
    assert length(lines) == 2
    assert [opened] = Enum.filter(lines, &(&1 =~ "circuit of client"))
    assert [failed] = Enum.filter(lines, &(&1 =~ "attempt 1 on client"))
    assert failed =~ ~r/^warning .*client=A .*kind=server attempt=1 \| /
    assert failed =~ "bad key [REDACTED] for"
    assert opened =~ ~r/^warning .*client=A kind=circuit_open \| /
    assert opened =~ ~r/the circuit of client "A" opened: its attempts are refused for \d+ ms/
    refute log =~ @secret
  end

  test "a cancelled call is not logged" do
    sc = scripted([%{delay_ms: 10_000}])
    reg = registry!(%{clients: [openai("A", sc)]})

    log =
      capture_log(fn ->
        %Call{ref: ref} = call = Switchboard.async(reg, "hi")
        assert :ok = Mock.await_outcome(mock(), sc, 0, "pending", 5_000)
        Switchboard.cancel(call)
        assert_receive {^ref, {:error, %Error{kind: :cancelled}}}, 5_000
        for dispatcher <- Switchboard.Telemetry.dispatcher_names(), do: :sys.get_state(dispatcher)
      end)

    refute log =~ "Switchboard:"
  end

  test "a wrong log config is named when the application starts" do
    for {config, message} <- [
          {:yes, "must be false or a keyword list"},
          {[attempts: :warning], "unknown key :attempts"},
          {[call: :loud], "call: must be a Logger level or false"}
        ] do
      assert_raise ArgumentError, ~r/#{message}/, fn ->
        Switchboard.Telemetry.validate_log!(config)
      end
    end

    assert :ok = Switchboard.Telemetry.validate_log!(attempt: false, call: :error)
  end
end
