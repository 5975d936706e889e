defmodule Switchboard.RuntimeTest do
  @moduledoc """
  The tokio runtime's settings come from the application environment as it
  is when the `:switchboard` application starts (so a release's
  config/runtime.exs applies), and the NIF of a normal build carries no
  benchmark instruments. Each settings test runs in a fresh VM: in this
  one the runtime has long started.
  """
  use ExUnit.Case, async: true

  alias Switchboard.Native

  # Runs `script` in a new VM with this build's :switchboard on its code
  # path; returns what it wrote with `Out.put/1` and its output.
  defp run_fresh_vm(script) do
    dir =
      Path.join(System.tmp_dir!(), "switchboard_runtime_#{System.unique_integer([:positive])}")

    File.mkdir_p!(dir)
    on_exit(fn -> File.rm_rf!(dir) end)
    {script_path, out} = {Path.join(dir, "script.exs"), Path.join(dir, "out.bin")}

    File.write!(script_path, """
    defmodule Out do
      def put(term), do: File.write!(#{inspect(out)}, :erlang.term_to_binary(term))
    end

    defmodule Threads do
      # Nice values of this VM's threads named "switchboard" (the runtime's).
      def nices do
        for tid <- File.ls!("/proc/self/task"),
            String.trim(read(tid, "comm")) == "switchboard" do
          # Field 19 of stat; the 17th after the ") " that ends the name.
          read(tid, "stat") |> String.split(") ") |> List.last() |> String.split() |> Enum.at(16)
          |> String.to_integer()
        end
      end

      defp read(tid, file), do: File.read!("/proc/self/task/\#{tid}/\#{file}")
    end

    defmodule Call do
      # A call whose prompt is invalid ends at once, on a runtime thread,
      # without a request: it starts the runtime.
      def run do
        {:ok, reg} =
          Switchboard.Registry.new(%{
            clients: [%{name: "A", provider: "openai-generic",
                        options: %{base_url: "http://127.0.0.1:9/v1", model: "m"}}]
          })

        {:error, %Switchboard.Error{kind: :invalid_request}} =
          reg |> Switchboard.async(42) |> Switchboard.await(10_000)
      end
    end

    #{script}
    """)

    ebin = :code.lib_dir(:switchboard) |> Path.join("ebin")
    elixir = System.find_executable("elixir")

    {output, status} =
      System.cmd(elixir, ["-pa", to_string(ebin), script_path], stderr_to_stdout: true)

    assert status == 0, output
    {:erlang.binary_to_term(File.read!(out)), output}
  end

  test "settings in the application env when the application starts are the ones in force" do
    {result, _output} =
      run_fresh_vm("""
      Application.put_env(:switchboard, :runtime, worker_threads: 3, nice_increment: 5)
      {:ok, _} = Application.ensure_all_started(:switchboard)
      before_first_call = Switchboard.Native.runtime_settings()
      Call.run()
      # Each worker lowers its own priority as it starts.
      nices = Enum.find_value(1..500, fn _ ->
        n = Threads.nices()
        if length(n) >= 3 and Enum.all?(n, &(&1 == 5)), do: n, else: Process.sleep(10) && nil
      end) || Threads.nices()
      Out.put(%{before: before_first_call, after: Switchboard.Native.runtime_settings(), nices: nices})
      """)

    assert result.before == %{worker_threads: 3, nice_increment: 5, started: false}
    assert result.after == %{worker_threads: 3, nice_increment: 5, started: true}
    # Three threads named "switchboard", each at nice 5.
    assert result.nices == [5, 5, 5]
  end

  test "a call before the application starts runs with the defaults; later settings are not applied, with a warning" do
    {result, output} =
      run_fresh_vm("""
      :ok = Application.load(:switchboard)
      Call.run()
      Application.put_env(:switchboard, :runtime, worker_threads: 97, nice_increment: 5)
      {:ok, _} = Application.ensure_all_started(:switchboard)
      Out.put(%{settings: Switchboard.Native.runtime_settings(), nices: Threads.nices()})
      """)

    assert %{worker_threads: threads, nice_increment: 0, started: true} = result.settings
    assert threads != 97 and threads >= 1
    assert Enum.all?(result.nices, &(&1 == 0))
    assert output =~ "is not applied"
  end

  test "invalid runtime settings are an ArgumentError naming the setting" do
    for {settings, message} <- [
          {[worker_threads: 0], ~r/worker_threads: must be an integer in 1..256/},
          {[worker_threads: "4"], ~r/worker_threads: must be/},
          {[nice_increment: 20], ~r/nice_increment: must be an integer in 0..19/},
          {[nice_increment: -1], ~r/nice_increment: must be/},
          {[threads: 4], ~r/unknown key :threads/},
          {%{worker_threads: 4}, ~r/must be a keyword list/}
        ] do
      assert_raise ArgumentError, message, fn ->
        Switchboard.Application.configure_runtime(settings)
      end
    end
  end

  # `make bench` builds with SWITCHBOARD_NIF_FEATURES=bench; `make test` does not.
  if String.contains?(System.get_env("SWITCHBOARD_NIF_FEATURES", ""), "bench") do
    test "the bench build carries the instruments" do
      assert %{calls: _} = Native.scheduler_timing(false)
    end
  else
    test "a normal build has no benchmark instruments, and says how to get them" do
      for fun <- [fn -> Native.scheduler_timing(false) end, &Native.malloc_in_use/0] do
        assert_raise RuntimeError, ~r/built without the bench feature; run `make bench`/, fun
      end
    end
  end
end
