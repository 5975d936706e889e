defmodule Mix.Tasks.Compile.SwitchboardNative do
  @shortdoc "Builds the Rust NIF (and, when asked, the mock server) into priv/native"
  @moduledoc """
  Builds Switchboard's native code with cargo and copies it into
  `priv/native/`, before Elixir compiles: the NIF (`switchboard_nif`)
  always, and the mock LLM server (`switchboard_mock`, used by
  `Switchboard.Mock`) when it is wanted.

  Defined here rather than in `lib/` because Mix needs the compiler before
  it compiles anything; no Hex package (such as `:rustler`) is used. It
  needs Rust's `cargo` on `PATH`.

  ## The mock server

  The mock is built when Switchboard is the project being compiled (this
  repository: its tests, demo and benchmarks use it), and in an application
  that depends on Switchboard only when the application's config asks for
  it, for example in `config/test.exs`:

      import Config
      config :switchboard, build_mock: true

  Mix loads the application's config before it compiles dependencies, so
  the setting of the environment being compiled applies (`MIX_ENV=test`
  above). A dependency fetched from git is compiled once per
  environment: after changing the setting, run
  `mix deps.compile switchboard`.

  ## Progress

  It says what it builds, then passes cargo's `Compiling ...` lines
  through. A first build compiles about 190 crates and takes several
  minutes (four on two idle cores); later builds reuse cargo's target
  directory and recompile only what changed, and a build with nothing to
  do prints nothing.

  ## Environment

    * `CARGO_TARGET_DIR` - cargo's target directory (default `target/` in
      Switchboard's folder, which for a git dependency is
      `deps/switchboard/target`). Point it at a directory a CI cache keeps
      to reuse compiled crates across runs.
    * `SWITCHBOARD_CARGO_PROFILE` - `release` (default), `debug` (an
      unoptimised NIF with debug info, built about three times faster) or
      another profile of Switchboard's `Cargo.toml`.
    * `SWITCHBOARD_NIF_FEATURES` - cargo features of `switchboard_nif`
      (comma- or space-separated); `make bench` sets it to `bench`, which
      compiles in the benchmarks' instruments (per-NIF timing, the malloc
      probe). Changing it rebuilds the NIF and copies the new one into
      `priv/native/` on the next `mix compile`.
  """
  use Mix.Task.Compiler

  @impl true
  def run(_args) do
    root = Path.dirname(Mix.Project.project_file())
    profile = System.get_env("SWITCHBOARD_CARGO_PROFILE", "release")
    target = Path.expand(System.get_env("CARGO_TARGET_DIR", "target"), root)

    crates =
      if build_mock?(root), do: ["switchboard_nif", "switchboard_mock"], else: ["switchboard_nif"]

    cargo =
      System.find_executable("cargo") ||
        Mix.raise(
          "cargo is not on PATH: Switchboard's NIF is written in Rust; install Rust first"
        )

    # --target-dir: the folder the results are copied from is the one cargo
    # writes to, whatever a cargo config file says.
    args =
      ["build", "--target-dir", target] ++
        profile_args(profile) ++
        Enum.flat_map(crates, &["-p", &1]) ++
        feature_args(System.get_env("SWITCHBOARD_NIF_FEATURES"))

    out = Path.join(target, profile_dir(profile))

    header =
      "Building Switchboard's native code with cargo: #{Enum.join(crates, ", ")} " <>
        "(#{profile} profile, in #{target})." <>
        if File.dir?(out),
          do: "",
          else: "\nA first build compiles about 190 crates and takes several minutes."

    case run_cargo(cargo, args, root, header) do
      0 -> :ok
      status -> Mix.raise("cargo build failed with exit status #{status}")
    end

    native = Path.join([root, "priv", "native"])
    File.mkdir_p!(native)
    install(Path.join(out, "libswitchboard_nif.so"), Path.join(native, "switchboard_nif.so"))

    if "switchboard_mock" in crates do
      install(Path.join(out, "switchboard_mock"), Path.join(native, "switchboard_mock"))
    end

    # Mix links priv/ into _build only if it existed when the build
    # structure was made; make sure it is there now.
    Mix.Project.build_structure()
    {:ok, []}
  end

  defp build_mock?(root) do
    case Application.get_env(:switchboard, :build_mock, false) do
      flag when is_boolean(flag) ->
        flag or root_project?(root)

      other ->
        Mix.raise(
          "config :switchboard, build_mock: expected true or false, got: #{inspect(other)}"
        )
    end
  end

  # Mix compiles a dependency with its parent's deps path; the root
  # project's deps are its own.
  defp root_project?(root), do: Path.dirname(Mix.Project.deps_path()) == root

  # Cargo's lines pass through as they come, after a header that says what
  # is being built; a build with nothing to do says only "Finished", which
  # is dropped, so a warm `mix compile` stays quiet.
  defp run_cargo(cargo, args, root, header) do
    color? = IO.ANSI.enabled?() and System.get_env("CARGO_TERM_COLOR") == nil
    env = if color?, do: [{~c"CARGO_TERM_COLOR", ~c"always"}], else: []

    port =
      Port.open({:spawn_executable, cargo}, [
        :binary,
        :exit_status,
        :stderr_to_stdout,
        {:line, 4096},
        args: args,
        cd: root,
        env: env
      ])

    relay(port, header, "")
  end

  defp relay(port, header, partial) do
    receive do
      {^port, {:data, {:noeol, chunk}}} ->
        relay(port, header, partial <> chunk)

      {^port, {:data, {:eol, chunk}}} ->
        line = partial <> chunk

        if header && String.replace(line, ~r/\e\[[0-9;]*m/, "") =~ ~r/^\s*Finished / do
          relay(port, header, "")
        else
          if header, do: Mix.shell().info(header)
          Mix.shell().info(line)
          relay(port, nil, "")
        end

      {^port, {:exit_status, status}} ->
        status
    end
  end

  # Features of the NIF crate only: the mock is built in the same command.
  defp feature_args(features) do
    case String.split(features || "", [",", " "], trim: true) do
      [] -> []
      names -> ["--features", Enum.map_join(names, ",", &"switchboard_nif/#{&1}")]
    end
  end

  defp profile_args("release"), do: ["--release"]
  defp profile_args("debug"), do: []
  defp profile_args(other), do: ["--profile", other]

  # cargo writes the dev profile's results into debug/.
  defp profile_dir("dev"), do: "debug"
  defp profile_dir(profile), do: profile

  # Copy through a temporary file so a running VM that has the old .so
  # mapped is not disturbed, and only when the content changed.
  defp install(from, to) do
    unless File.exists?(from), do: Mix.raise("cargo did not produce #{from}")

    if File.read!(from) != (File.exists?(to) && File.read!(to)) do
      tmp = to <> ".tmp"
      File.cp!(from, tmp)
      File.chmod!(tmp, 0o755)
      File.rename!(tmp, to)
    end
  end
end

defmodule Switchboard.MixProject do
  use Mix.Project

  def project do
    [
      app: :switchboard,
      version: "0.1.0",
      elixir: "~> 1.14",
      compilers: [:switchboard_native] ++ Mix.compilers(),
      elixirc_paths: elixirc_paths(Mix.env()),
      start_permanent: Mix.env() == :prod,
      deps: [],
      description:
        "One registry of LLM clients for BEAM applications: BAML-style client_registry maps, " <>
          "ten providers, fallback and round-robin, retries and streaming, on a Rust NIF.",
      package: package(),
      docs: [main: "readme", extras: ["README.md", "CHANGELOG.md" | Path.wildcard("docs/*.md")]]
    ]
  end

  # What a published package holds: the sources Mix and cargo build from,
  # without build output (target/, priv/native/) or the suite.
  defp package do
    [
      licenses: ["Apache-2.0"],
      links: %{
        "BAML client registry (the config format)" =>
          "https://docs.boundaryml.com/ref/llm-client-providers/overview"
      },
      files: ~w(lib native/switchboard_core/src native/switchboard_core/Cargo.toml
                native/switchboard_nif/src native/switchboard_nif/Cargo.toml
                native/switchboard_mock/src native/switchboard_mock/Cargo.toml
                Cargo.toml Cargo.lock mix.exs README.md CHANGELOG.md docs)
    ]
  end

  def application do
    [mod: {Switchboard.Application, []}, extra_applications: [:logger]]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end
