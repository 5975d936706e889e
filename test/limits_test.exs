defmodule Switchboard.LimitsTest do
  @moduledoc """
  Bounds that keep one bad server or config from taking memory or the VM
  down: body sizes, kept error bodies, strategy depth, framing headers,
  and keep-alive comments counting as stream activity.
  """
  use Switchboard.Case, async: true

  test "an answer larger than 32 MiB is a :bad_response, not unbounded memory" do
    big = String.duplicate("x", 33 * 1024 * 1024)
    sc = scripted([%{body: ~s({"choices": [{"message": {"content": "#{big}"}}]})}])
    reg = registry!(%{clients: [openai("A", sc)]})

    assert {:error, %Error{kind: :bad_response, message: m, status: 200}} =
             Switchboard.call(reg, "hi")

    assert m =~ "larger than 32 MiB"
  end

  test "an error body is read only up to its prefix, and attempts keep 1 KiB of it" do
    page = "<html>" <> String.duplicate("oops ", 40_000) <> "</html>"

    sc =
      scripted([
        %{status: 502, body: page, content_type: "text/html"},
        %{status: 502, body: page, content_type: "text/html"}
      ])

    reg =
      registry!(%{
        clients: [openai("A", sc, %{}, "Once")],
        retry_policies: %{
          "Once" => %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 1}}
        }
      })

    assert {:error, %Error{kind: :server} = e} = Switchboard.call(reg, "hi")
    assert byte_size(e.raw_response) == 64 * 1024
    assert String.starts_with?(e.raw_response, "<html>oops")
    assert [a1, a2] = e.attempts
    assert byte_size(a1.error.raw_response) == 1024
    assert byte_size(a2.error.raw_response) == 1024
  end

  test "strategies nested 1,000 deep are a :config error, not a crashed VM" do
    clients =
      for i <- 0..999 do
        next = if i == 999, do: "L", else: "S#{i + 1}"
        %{name: "S#{i}", provider: "fallback", options: %{strategy: [next]}}
      end

    leaf = %{name: "L", provider: "ollama", options: %{model: "m"}}

    assert {:error, %Error{kind: :config, message: m}} =
             Switchboard.Registry.new(%{primary: "S0", clients: [leaf | clients]})

    assert m =~ "nest more than 32 levels"
  end

  test "framing headers in headers: are rejected when the registry is built" do
    for name <- ["content-length", "Transfer-Encoding", "host"] do
      assert {:error, %Error{kind: :config, message: m}} =
               Switchboard.Registry.new(%{
                 clients: [openai("A", scenario(), %{headers: %{name => "0"}})]
               })

      assert m =~ "may not set"
    end
  end

  test "SSE comments count as activity for idle_timeout_ms" do
    delta = fn text ->
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"#{text}\"}}]}\n\n"
    end

    reads =
      [delta.("a")] ++
        List.duplicate(": OPENROUTER PROCESSING\n\n", 20) ++
        [delta.("b"), "data: [DONE]\n\n"]

    sc = scripted([%{replay_chunks_b64: Enum.map(reads, &Base.encode64/1), chunk_delay_ms: 100}])
    reg = registry!(%{clients: [openai("A", sc, %{http: %{idle_timeout_ms: 1_000}})]})

    # 2 s without an event, but never a second without a byte (10 times the
    # gap, so a loaded machine does not fire the timeout on its own).
    assert {:ok, %Response{content: "ab"}} =
             reg |> Switchboard.stream_to("hi") |> Switchboard.await(30_000)
  end
end
