defmodule Switchboard.MockTest do
  use ExUnit.Case, async: true

  alias Switchboard.Mock

  setup do
    mock = Mock.start!()
    on_exit(fn -> Mock.stop(mock) end)
    %{mock: mock}
  end

  # A tiny HTTP/1.1 client, so this test exercises the mock and nothing else.
  defp post(mock, path, body, headers \\ []) do
    {:ok, socket} = :gen_tcp.connect({127, 0, 0, 1}, mock.port, [:binary, active: false])

    head =
      for {name, value} <- [{"content-type", "application/json"} | headers],
          do: [name, ": ", value, "\r\n"]

    :ok =
      :gen_tcp.send(socket, [
        "POST #{path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n",
        head,
        "content-length: #{byte_size(body)}\r\n\r\n",
        body
      ])

    raw = recv_all(socket, "")
    [head, body] = :binary.split(raw, "\r\n\r\n")
    ["HTTP/1.1 " <> <<status::binary-size(3)>> <> _ | header_lines] = String.split(head, "\r\n")

    headers =
      for line <- header_lines do
        [name, value] = String.split(line, ":", parts: 2)
        {String.downcase(name), String.trim(value)}
      end

    {String.to_integer(status), headers, body}
  end

  defp recv_all(socket, acc) do
    case :gen_tcp.recv(socket, 0, 5_000) do
      {:ok, data} -> recv_all(socket, acc <> data)
      {:error, :closed} -> acc
    end
  end

  test "a scripted 500 is followed by a success, and both are recorded", %{mock: mock} do
    :ok = Mock.script(mock, "retry", [%{status: 500}, %{content: "hi"}])
    path = "/s/retry/v1/chat/completions"
    body = ~s({"model":"gpt-test","messages":[{"role":"user","content":"yo"}]})

    {500, headers, error} = post(mock, path, body, [{"x-test", "1"}])
    assert error =~ ~s("type":"server_error")
    assert List.keymember?(headers, "x-request-id", 0)

    {200, _, ok} = post(mock, path, body)
    assert ok =~ ~s("content":"hi")
    assert ok =~ ~s("model":"gpt-test")

    assert [first, second] = Mock.requests(mock, "retry")
    assert first["method"] == "POST"
    assert first["path"] == "/v1/chat/completions"
    assert first["status"] == 500
    assert first["outcome"] == "completed"
    assert {"x-test", "1"} in first["headers"]
    assert first["body"] == body
    assert %{"model" => "gpt-test", "messages" => [%{"content" => "yo"}]} = first["json"]
    assert second["status"] == 200
    assert is_integer(second["received_at_us"]) and is_integer(second["finished_at_us"])
  end

  test "unscripted requests get the default success, per scenario", %{mock: mock} do
    {200, _, body} = post(mock, "/s/a/v1/messages", ~s({"model":"claude-test"}))
    assert body =~ ~s("text":"Hello from switchboard_mock.")
    assert body =~ ~s("stop_reason":"end_turn")

    {200, headers, stream} = post(mock, "/s/a/v1/messages", ~s({"stream":true}))
    assert {"content-type", "text/event-stream; charset=utf-8"} in headers
    assert stream =~ "event: message_start\n"
    assert stream =~ "event: message_stop\n"

    assert length(Mock.requests(mock, "a")) == 2
    assert Mock.requests(mock, "b") == []
    assert Mock.base_url(mock, "a") == mock.url <> "/s/a"
  end

  test "await_outcome sees a client that hangs up during a delay", %{mock: mock} do
    :ok = Mock.script(mock, "cancel", [%{delay_ms: 5_000}])
    {:ok, socket} = :gen_tcp.connect({127, 0, 0, 1}, mock.port, [:binary, active: false])

    :ok =
      :gen_tcp.send(
        socket,
        "POST /s/cancel/v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}"
      )

    assert :ok = Mock.await_outcome(mock, "cancel", 0, :pending, 5_000)
    :ok = :gen_tcp.close(socket)
    assert :ok = Mock.await_outcome(mock, "cancel", 0, :client_disconnected, 5_000)
    assert {:error, nil} = Mock.await_outcome(mock, "cancel", 1, :completed, 20)
  end

  test "connect to the blackhole port times out", %{mock: mock} do
    port = Mock.blackhole_port(mock)
    assert is_integer(port)
    assert {:error, :timeout} = :gen_tcp.connect({127, 0, 0, 1}, port, [], 300)
  end

  test "invalid scripts raise", %{mock: mock} do
    assert_raise ArgumentError, ~r/stauts/, fn -> Mock.script(mock, "x", [%{stauts: 500}]) end
    assert_raise ArgumentError, fn -> Mock.script(mock, "bad id", []) end
  end

  test "read_json returns terms without a JSON library", %{mock: mock} do
    path =
      Path.join(
        System.tmp_dir!(),
        "switchboard_mock_test_#{System.unique_integer([:positive])}.json"
      )

    File.write!(path, ~s({"a": [1, 2.5, null, true], "b": {"c": "d"}}))
    on_exit(fn -> File.rm(path) end)
    assert Mock.read_json(mock, path) == %{"a" => [1, 2.5, nil, true], "b" => %{"c" => "d"}}
  end

  test "the mock stops with stop/1 and with its owner" do
    mock = Mock.start!()
    :ok = Mock.stop(mock)
    assert_closed(mock.port)

    test_pid = self()

    owner =
      spawn(fn ->
        send(test_pid, {:mock, Mock.start!()})
        receive do: (:exit -> :ok)
      end)

    assert_receive {:mock, owned}, 10_000
    assert {:ok, socket} = :gen_tcp.connect({127, 0, 0, 1}, owned.port, [])
    :gen_tcp.close(socket)
    send(owner, :exit)
    assert_closed(owned.port)
  end

  defp assert_closed(port, attempts \\ 500) do
    case :gen_tcp.connect({127, 0, 0, 1}, port, []) do
      {:error, :econnrefused} ->
        :ok

      {:ok, socket} when attempts > 0 ->
        :gen_tcp.close(socket)
        Process.sleep(10)
        assert_closed(port, attempts - 1)

      # The listener is going away mid-handshake; look again.
      {:error, :econnreset} when attempts > 0 ->
        Process.sleep(10)
        assert_closed(port, attempts - 1)

      other ->
        flunk("mock on port #{port} still up: #{inspect(other)}")
    end
  end
end
