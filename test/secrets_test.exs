defmodule Switchboard.SecretsTest do
  @moduledoc """
  Credentials never reach what users see: error messages, `raw_response`,
  attempts, `inspect/1`, raised exceptions and logs — whether they were
  given as `api_key`, in `headers:` or as URL userinfo, and whatever
  spelling a server uses to echo them back.
  """
  use Switchboard.Case, async: true

  import ExUnit.CaptureLog
  require Logger

  @key "sk-live-A1b2C3d4-E5f6"
  @header_secret "hdr/tok+en-9z8y7x"

  # The forms in which servers and proxies echo a credential back.
  defp echoes(secret), do: Switchboard.Chaos.echoes(secret)

  defp assert_clean(term, secrets) do
    shown = inspect(term, limit: :infinity, printable_limit: :infinity)
    for s <- secrets, form <- echoes(s), do: refute(shown =~ form, "#{inspect(form)} leaked")
  end

  test "a key in headers: and the api_key are redacted from every error field, in every echoed form" do
    echoed = Enum.join(echoes(@key) ++ echoes(@header_secret), " | ")
    body = ~s({"error": {"message": "Incorrect API key provided: #{echoed}", "type": "auth"}})
    sc = scripted([%{status: 401, body: body, repeat: 3}])

    reg =
      registry!(%{
        clients: [openai("A", sc, %{api_key: @key, headers: %{"x-api-key" => @header_secret}})]
      })

    assert {:error, %Error{kind: :auth} = e} = Switchboard.call(reg, "hi")
    assert e.message =~ "[REDACTED]"
    assert e.raw_response =~ "[REDACTED]"
    assert [%Attempt{error: %Error{raw_response: raw}}] = e.attempts
    assert raw =~ "[REDACTED]"
    assert_clean(e, [@key, @header_secret])
    assert_clean(Exception.message(e), [@key, @header_secret])

    # Both were sent: the redaction is not the request leaving them out.
    assert [req | _] = requests(sc)
    assert header(req, "authorization") == "Bearer " <> @key
    assert header(req, "x-api-key") == @header_secret

    raised = assert_raise Error, fn -> Switchboard.call!(reg, "hi") end
    assert_clean(Exception.format(:error, raised, []), [@key, @header_secret])

    # A process that crashes with the error: its crash report goes through
    # Logger with the exception and its stacktrace.
    log =
      capture_log(fn ->
        {:ok, pid} = Task.start(fn -> Switchboard.call!(reg, "hi") end)
        ref = Process.monitor(pid)
        assert_receive {:DOWN, ^ref, :process, ^pid, {%Error{}, _}}, 10_000
        Logger.flush()
      end)

    assert log =~ "Incorrect API key"
    assert_clean(log, [@key, @header_secret])
  end

  test "stream/3 raises the redacted error" do
    body = ~s({"error": {"message": "bad key #{@key}"}})
    sc = scripted([%{status: 403, body: body}])
    reg = registry!(%{clients: [openai("A", sc, %{api_key: @key})]})

    e = assert_raise Error, fn -> reg |> Switchboard.stream("hi") |> Enum.to_list() end
    assert e.kind == :permission
    assert_clean(e, [@key])
  end

  test "credentials in the base_url's userinfo are sent as Basic auth and redacted, base64 included" do
    sc = scenario()
    base = Switchboard.Mock.base_url(mock(), sc)
    uri = URI.parse(base)
    # Characters a URL must percent-encode: the client sends them decoded.
    password = "p@ss:w/rd-xyz"
    userinfo = "user:" <> URI.encode_www_form(password)
    base = URI.to_string(%{uri | userinfo: userinfo}) <> "/v1"
    basic = Base.encode64("user:" <> password)

    :ok =
      Switchboard.Mock.script(mock(), sc, [
        %{status: 401, body: ~s({"error": {"message": "denied #{basic} for #{password}"}})}
      ])

    reg =
      registry!(%{
        clients: [
          %{name: "A", provider: "openai-generic", options: %{base_url: base, model: "m"}}
        ]
      })

    assert {:error, %Error{kind: :auth} = e} = Switchboard.call(reg, "hi")
    assert [req] = requests(sc)
    assert header(req, "authorization") == "Basic " <> basic
    refute e.message =~ password
    refute e.message =~ String.trim_trailing(basic, "=")
    refute e.raw_response =~ password
  end

  test "inspect of registries, responses and errors never shows a key" do
    sc = scripted([%{content: "fine"}])

    config = %{
      clients: [
        openai("A", sc, %{api_key: @key, headers: %{"authorization" => "Bearer " <> @key}})
      ]
    }

    reg = registry!(config)
    assert {:ok, resp} = Switchboard.call(reg, "hi")
    assert_clean(reg, [@key])
    assert_clean(resp, [@key])

    {:error, e} =
      Switchboard.Registry.new(put_in(config, [:clients, Access.at(0), :options, :model], 5))

    assert e.kind == :config
    assert_clean(e, [@key])
  end
end
