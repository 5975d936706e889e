# One mock LLM server (native/switchboard_mock) for the whole suite; each
# test scripts its own scenario on it.
Switchboard.Case.start_mock!()

conformance = Switchboard.Case.conformance_root()

exclude =
  if File.dir?(conformance) do
    []
  else
    IO.puts("conformance corpus not found at #{conformance}: skipping tests tagged :conformance")
    [:conformance]
  end

ExUnit.start(exclude: exclude, capture_log: true)
