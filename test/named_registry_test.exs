defmodule Switchboard.NamedRegistryTest.LLM do
  use Switchboard.Registry, otp_app: :switchboard_named_test
end

defmodule Switchboard.NamedRegistryTest.Tuned do
  use Switchboard.Registry, otp_app: :switchboard_named_test

  # Derives the primary at boot, as an application would from its environment.
  @impl true
  def init(opts) do
    primary = Application.get_env(:switchboard_named_test, :tuned_primary)
    {:ok, put_in(opts, [:client_registry, :primary], primary)}
  end
end

defmodule Switchboard.NamedRegistryTest do
  # The `use` modules read one application environment: not async.
  use Switchboard.Case, async: false

  import ExUnit.CaptureLog

  alias Switchboard.Chunk
  alias Switchboard.NamedRegistryTest.{LLM, Tuned}

  @app :switchboard_named_test

  defp name, do: :"llm_#{System.unique_integer([:positive])}"

  defp start_named!(name, config) do
    start_supervised!({Registry, name: name, client_registry: config})
  end

  describe "the child spec" do
    test "starts a registry that call, async, stream_to and stream reach by name" do
      sc = scripted([%{content: "by name", repeat: -1}])
      name = name()
      start_named!(name, %{clients: [openai("C", sc)]})

      assert {:ok, %Response{content: "by name", client: "C"}} = Switchboard.call(name, "hi")
      assert %Response{content: "by name"} = Switchboard.call!(name, "hi")

      assert {:ok, %Response{content: "by name"}} =
               name |> Switchboard.async("hi") |> Switchboard.await()

      assert {_, {:ok, %Response{content: "by name"}}} =
               collect(Switchboard.stream_to(name, "hi"))

      assert [%Chunk{response: %Response{content: "by name"}}] =
               Enum.take(Switchboard.stream(name, "hi"), -1)

      assert length(requests(sc)) == 5
    end

    test "takes the Beamlens map with string keys and clients as a map" do
      sc = scripted([%{content: "strings", repeat: -1}])
      name = name()
      %{name: "C", options: options} = openai("C", sc)
      options = Map.new(options, fn {k, v} -> {Atom.to_string(k), v} end)

      start_named!(name, %{
        "primary" => "C",
        "clients" => %{"C" => %{"provider" => "openai", "options" => options}}
      })

      assert %Registry{name: ^name, primary: "C", clients: ["C"]} = Registry.whereis(name)
      assert {:ok, %Response{content: "strings"}} = Switchboard.call(name, "hi")
    end

    test "takes a function returning the config, called when the registry starts" do
      sc = scripted([%{content: "from a function"}])
      name = name()
      start_named!(name, fn -> %{clients: [openai("C", sc)]} end)
      assert {:ok, %Response{content: "from a function"}} = Switchboard.call(name, "hi")
    end

    test "an invalid config fails the start with a message naming the client and option" do
      config = %{clients: [%{name: "Broken", provider: "openai", options: %{model: 42}}]}

      capture_log(fn ->
        assert {:error, reason} =
                 start_supervised({Registry, name: name(), client_registry: config})

        assert {{%Error{kind: :config, message: message}, _stack}, _child} = reason
        assert message =~ ~s(client "Broken") and message =~ ~s("model")
      end)
    end

    test "the start fails clearly under an application's supervisor" do
      child =
        {Registry, name: name(), client_registry: %{clients: [%{name: "X", provider: "nope"}]}}

      capture_log(fn ->
        Process.flag(:trap_exit, true)
        assert {:error, reason} = Supervisor.start_link([child], strategy: :one_for_one)
        text = Exception.format_exit(reason)
        assert text =~ ~s(client "X": unknown provider "nope"), text
      end)
    end

    test "a literal key in the config stays out of the child spec and the failure" do
      secret = "sk-secret-in-config"

      config = %{
        clients: [%{name: "K", provider: "openai", options: %{api_key: secret, model: 1}}]
      }

      # Supervisor reports show a child's start arguments.
      spec = Registry.child_spec(name: name(), client_registry: config)
      refute inspect(spec, limit: :infinity) =~ secret

      log =
        capture_log(fn ->
          assert {:error, reason} = start_supervised(spec)
          assert {{%Error{message: message}, _stack}, _child} = reason
          assert message =~ ~s(client "K")
          refute inspect(reason, limit: :infinity) =~ secret
        end)

      refute log =~ secret
    end

    test "bad options are ArgumentErrors naming them" do
      assert_raise ArgumentError, ~r/:name option must be an atom/, fn ->
        Registry.child_spec(name: "LLM", client_registry: %{})
      end

      assert_raise ArgumentError, ~r/:client_registry option must be a config map/, fn ->
        Registry.child_spec(name: :x, client_registry: [clients: []])
      end

      assert_raise ArgumentError, ~r/unknown option :clients/, fn ->
        Registry.child_spec(name: :x, clients: [])
      end
    end

    test "two registries run side by side, each under its own name" do
      {a, b} = {scripted([%{content: "A", repeat: -1}]), scripted([%{content: "B", repeat: -1}])}
      {name_a, name_b} = {name(), name()}
      start_named!(name_a, %{clients: [openai("C", a)]})
      start_named!(name_b, %{clients: [openai("C", b)]})
      assert {:ok, %Response{content: "A"}} = Switchboard.call(name_a, "hi")
      assert {:ok, %Response{content: "B"}} = Switchboard.call(name_b, "hi")
    end

    test "a name with no registry running is an ArgumentError; stopping one removes its name" do
      name = name()

      assert_raise ArgumentError, ~r/no registry named :#{name} is running/, fn ->
        Switchboard.call(name, "hi")
      end

      assert_raise ArgumentError, ~r/no registry named/, fn ->
        Registry.reload(name, %{clients: [openai("C", scenario())]})
      end

      start_named!(name, %{clients: [openai("C", scenario())]})
      assert %Registry{} = Registry.whereis(name)
      :ok = stop_supervised(name)
      assert Registry.whereis(name) == nil
      assert_raise ArgumentError, fn -> Switchboard.async(name, "hi") end
    end
  end

  describe "use Switchboard.Registry" do
    setup do
      on_exit(fn ->
        Application.delete_env(@app, LLM)
        Application.delete_env(@app, Tuned)
        Application.delete_env(@app, :tuned_primary)
      end)
    end

    test "reads the application environment when it starts" do
      sc = scripted([%{content: "from app config", repeat: -1}])
      # As config/runtime.exs would set it: after compiling, before starting.
      Application.put_env(@app, LLM, client_registry: %{clients: [openai("C", sc)]})
      start_supervised!(LLM)

      assert {:ok, %Response{content: "from app config"}} = Switchboard.call(LLM, "hi")
      assert [%Chunk{response: %Response{}}] = Enum.take(Switchboard.stream(LLM, "hi"), -1)
      assert Registry.whereis(LLM).name == LLM
    end

    test "options of the child spec override the environment's" do
      {env_sc, spec_sc} = {scripted([%{content: "env"}]), scripted([%{content: "spec"}])}
      Application.put_env(@app, LLM, client_registry: %{clients: [openai("C", env_sc)]})
      start_supervised!({LLM, client_registry: %{clients: [openai("C", spec_sc)]}})
      assert {:ok, %Response{content: "spec"}} = Switchboard.call(LLM, "hi")
    end

    test "init/1 may change the config at boot" do
      {a, b} = {scripted([%{content: "A"}]), scripted([%{content: "B"}])}

      Application.put_env(@app, Tuned,
        client_registry: %{clients: [openai("A", a), openai("B", b)]}
      )

      Application.put_env(@app, :tuned_primary, "B")
      start_supervised!(Tuned)
      assert {:ok, %Response{content: "B", client: "B"}} = Switchboard.call(Tuned, "hi")
    end

    test "a literal key given to its child spec stays out of the spec" do
      secret = "sk-secret-in-use-form"
      sc = scripted([%{content: "ok"}])
      %{options: options} = openai("C", sc)

      config = %{
        clients: [%{name: "C", provider: "openai", options: %{options | api_key: secret}}]
      }

      spec = LLM.child_spec(client_registry: config)
      refute inspect(spec, limit: :infinity) =~ secret
      start_supervised!(spec)
      assert {:ok, %Response{content: "ok"}} = Switchboard.call(LLM, "hi")
    end

    test "takes a function for :client_registry" do
      sc = scripted([%{content: "from a function"}])
      start_supervised!({LLM, client_registry: fn -> %{clients: [openai("C", sc)]} end})
      assert {:ok, %Response{content: "from a function"}} = Switchboard.call(LLM, "hi")
    end

    test "a missing config fails the start saying what to set" do
      capture_log(fn ->
        assert {:error, {{%ArgumentError{message: message}, _}, _}} = start_supervised(LLM)
        assert message =~ "config :switchboard_named_test, Switchboard.NamedRegistryTest.LLM"
      end)
    end
  end

  describe "reload/2" do
    test "under 1,000 concurrent calls loses and fails none; later calls use the new config" do
      old = scripted([%{content: "old", delay_ms: 200, repeat: -1}])
      new = scripted([%{content: "new", repeat: -1}])
      name = name()
      start_named!(name, %{clients: [openai("C", old)]})
      parent = self()

      # 500 calls in flight before the reload, 500 more started by five
      # other processes while it happens.
      before = for _ <- 1..500, do: Switchboard.async(name, "hi")

      starters =
        for _ <- 1..5 do
          Task.async(fn ->
            send(parent, :starting)

            for(_ <- 1..100, do: Switchboard.async(name, "hi"))
            |> Enum.map(&Switchboard.await(&1, 60_000))
          end)
        end

      for _ <- starters, do: assert_receive(:starting, 10_000)
      assert :ok = Registry.reload(name, %{clients: [openai("C", new)]})
      assert {:ok, %Response{content: "new"}} = Switchboard.call(name, "hi")

      during = Enum.flat_map(starters, &Task.await(&1, 60_000))
      before = Enum.map(before, &Switchboard.await(&1, 60_000))
      assert Enum.frequencies_by(before ++ during, &elem(&1, 0)) == %{ok: 1_000}
      assert Enum.all?(before, &match?({:ok, %Response{content: "old"}}, &1))
      assert Enum.all?(during, &match?({:ok, %Response{content: c}} when c in ["old", "new"], &1))
      assert length(requests(old)) + length(requests(new)) == 1_001
    end

    test "an invalid config returns the :config error and keeps the registry in force" do
      sc = scripted([%{content: "still here", repeat: -1}])
      name = name()
      start_named!(name, %{clients: [openai("C", sc)]})
      before = Registry.whereis(name)

      assert {:error, %Error{kind: :config, message: message}} =
               Registry.reload(name, %{clients: [%{name: "Z", provider: "nope"}]})

      assert message =~ ~s(client "Z")
      assert {:error, %Error{kind: :config}} = Registry.reload(name, :not_a_map)
      assert Registry.whereis(name) == before
      assert {:ok, %Response{content: "still here"}} = Switchboard.call(name, "hi")
    end

    test "edits by name change the named registry" do
      {a, b} = {scripted([%{content: "A", repeat: -1}]), scripted([%{content: "B", repeat: -1}])}
      name = name()
      start_named!(name, %{clients: [openai("A", a)]})

      %{options: options} = openai("B", b)

      assert {:ok, %Registry{name: ^name, clients: ["A", "B"]}} =
               Registry.add_client(name, "B", "openai", options)

      assert {:ok, %Response{content: "B"}} = Switchboard.call(name, "hi", client: "B")
      assert {:ok, %Registry{primary: "B"}} = Registry.set_primary(name, "B")
      assert {:ok, %Response{content: "B"}} = Switchboard.call(name, "hi")

      assert {:error, %Error{kind: :config}} = Registry.set_primary(name, "Nobody")
      assert Registry.whereis(name).primary == "B"
    end
  end

  test "a to: receiver acknowledges a windowed stream with nothing from the caller" do
    # The provider stalls after its three deltas, so only acks can release
    # the text a window of 1 holds back.
    sc = scripted([%{content: "one two three", chunks: 3, chunk_delay_ms: 50, stall_after: 3}])
    name = name()
    start_named!(name, %{clients: [openai("C", sc)]})
    parent = self()

    receiver =
      spawn_link(fn ->
        # Everything it uses comes in its own messages.
        receive_text = fn receive_text, text ->
          receive do
            {ref, {:chunk, %Chunk{text: chunk}}} ->
              :ok = Switchboard.ack(ref)
              text = text <> chunk

              if text == "one two three",
                do: send(parent, {:text, ref, text}),
                else: receive_text.(receive_text, text)
          end
        end

        receive_text.(receive_text, "")

        receive do
          {_ref, {:error, %Error{kind: kind}}} -> send(parent, {:ended, kind})
        end
      end)

    call = Switchboard.stream_to(name, "hi", to: receiver, window: 1)
    assert_receive {:text, ref, "one two three"}, 10_000
    assert ref == call.ref
    :ok = Switchboard.cancel(ref)
    assert_receive {:ended, :cancelled}, 10_000
  end

  test "ack/2 and cancel/1 refuse a reference that is not a call's" do
    assert_raise ArgumentError, ~r/not the ref of a Switchboard call/, fn ->
      Switchboard.ack(make_ref())
    end

    assert_raise ArgumentError, ~r/not the ref of a Switchboard call/, fn ->
      Switchboard.cancel(make_ref())
    end
  end
end
