defmodule Mix.Tasks.Compile.SwitchboardNative do
  @shortdoc "Builds the Rust NIF and the mock server into priv/native"
  @moduledoc """
  Runs `cargo build --release` for `switchboard_nif` and `switchboard_mock`
  and copies the results into `priv/native/`, before Elixir compiles.

  Defined here rather than in `lib/` because Mix needs the compiler before
  it compiles anything; no Hex package (such as `:rustler`) is used.
  Set `SWITCHBOARD_CARGO_PROFILE=debug` for a faster, unoptimised build.

  `SWITCHBOARD_NIF_FEATURES` turns on cargo features of `switchboard_nif`
  (comma- or space-separated); `make bench` sets it to `bench`, which
  compiles in the benchmarks' instruments (per-NIF timing, the malloc
  probe). Changing it rebuilds the NIF and copies the new one into
  `priv/native/` on the next `mix compile`.
  """
  use Mix.Task.Compiler

  @crates ["switchboard_nif", "switchboard_mock"]

  @impl true
  def run(_args) do
    root = Path.dirname(Mix.Project.project_file())
    profile = System.get_env("SWITCHBOARD_CARGO_PROFILE", "release")

    cargo =
      System.find_executable("cargo") || Mix.raise("cargo is not on PATH; install Rust first")

    args =
      ["build", "--quiet"] ++
        profile_args(profile) ++
        Enum.flat_map(@crates, &["-p", &1]) ++
        feature_args(System.get_env("SWITCHBOARD_NIF_FEATURES"))

    case System.cmd(cargo, args, cd: root, stderr_to_stdout: true, into: IO.stream(:stdio, :line)) do
      {_, 0} -> :ok
      {_, status} -> Mix.raise("cargo build failed with exit status #{status}")
    end

    target = System.get_env("CARGO_TARGET_DIR", Path.join(root, "target"))
    out = Path.join([target, profile])
    native = Path.join([root, "priv", "native"])
    File.mkdir_p!(native)
    install(Path.join(out, "libswitchboard_nif.so"), Path.join(native, "switchboard_nif.so"))
    install(Path.join(out, "switchboard_mock"), Path.join(native, "switchboard_mock"))
    # Mix links priv/ into _build only if it existed when the build
    # structure was made; make sure it is there now.
    Mix.Project.build_structure()
    {:ok, []}
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
      docs: [main: "Switchboard"]
    ]
  end

  def application do
    [mod: {Switchboard.Application, []}, extra_applications: [:logger]]
  end

  defp elixirc_paths(:test), do: ["lib", "test/support"]
  defp elixirc_paths(_), do: ["lib"]
end
