defmodule Switchboard.DependencyTest do
  # Switchboard used the way an application uses it: a separate Mix project
  # (test/fixtures/dep_app, copied to a temporary folder) that depends on
  # this checkout by path, compiles it (the NIF built by Switchboard's own
  # Mix compiler, in place, reusing this checkout's cargo target directory),
  # starts the named registry of its config/runtime.exs at boot and calls it.
  # It compiles a separate project (seconds, once this checkout is built):
  # skip it with `mix test --exclude dependency`.
  use Switchboard.Case, async: false

  @moduletag :dependency
  @moduletag timeout: :timer.minutes(15)

  @root Path.expand("..", __DIR__)
  @fixture Path.join(__DIR__, "fixtures/dep_app")

  setup do
    # The OS pid too: another checkout's suite may run at the same time.
    name = "switchboard_dep_app_#{System.pid()}_#{System.unique_integer([:positive])}"
    dir = Path.join(System.tmp_dir!(), name)

    on_exit(fn -> File.rm_rf!(dir) end)
    File.cp_r!(@fixture, dir)
    %{dir: dir}
  end

  test "an application depending on Switchboard by path builds it, starts its registry from config and calls it",
       %{dir: dir} do
    sc = scripted([%{content: "Hello from the dependency test"}, %{content: "one two three"}])

    {output, status} =
      System.cmd(System.find_executable("mix"), ["run", "check.exs"],
        cd: dir,
        stderr_to_stdout: true,
        env:
          clean_mix_env() ++
            [
              {"MIX_ENV", "test"},
              {"SWITCHBOARD_PATH", @root},
              {"DEP_APP_LLM_URL", Switchboard.Mock.base_url(mock(), sc)},
              # the app starts the mock its dependency built, not this one
              {"SWITCHBOARD_MOCK_PATH", nil},
              # cargo names every crate it builds or finds fresh
              {"CARGO_TERM_VERBOSE", "true"}
            ]
      )

    assert status == 0, output

    # config :switchboard, build_mock: true made the compiler build the mock too.
    assert output =~
             "Building Switchboard's native code with cargo: switchboard_nif, switchboard_mock ("

    assert output =~ ~r/(Fresh|Compiling) switchboard_mock v/
    assert output =~ ~r/(Fresh|Compiling) switchboard_nif v/

    assert output =~ "call answered by Main: Hello from the dependency test\n"
    assert output =~ ~r/stream answered by Claude in \d+ chunks: one two three\n/
    assert output =~ ~r{bundled mock server started at http://127\.0\.0\.1:\d+\n}

    # The app's clients reached the mock on each provider's real path.
    assert [call, stream] = requests(sc)
    assert {call["path"], call["json"]["model"]} == {"/v1/chat/completions", "gpt-4o-mini"}
    assert {stream["path"], stream["json"]["stream"]} == {"/v1/messages", true}
  end

  # Mix variables of this test run (build and deps paths, ...) would point
  # the other project at this one's folders; MIX_HOME is only where Mix
  # keeps its archives.
  defp clean_mix_env do
    for {name, _} <- System.get_env(),
        String.starts_with?(name, "MIX_") and name not in ["MIX_HOME", "MIX_ENV"],
        do: {name, nil}
  end
end
