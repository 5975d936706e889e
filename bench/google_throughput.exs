# Quick throughput check for the Google providers against the bundled mock:
# N non-streaming calls with C in flight through google-ai (API key), then
# through vertex-ai with a service account (OAuth token from the mock's token
# endpoint), counting the token requests a cold registry makes.
#
#   mix run bench/google_throughput.exs [calls] [in_flight]

defmodule Bench.GoogleThroughput do
  def run(total, in_flight) do
    mock = Switchboard.Mock.start!()

    gemini =
      Switchboard.Registry.new!(%{
        clients: [
          %{
            name: "Gemini",
            provider: "google-ai",
            options: %{
              base_url: Switchboard.Mock.base_url(mock, "gemini") <> "/v1beta",
              api_key: "bench-key"
            }
          }
        ]
      })

    measure("google-ai", gemini, total, in_flight)

    # A throwaway service account, known to the mock's token endpoint.
    key = :public_key.generate_key({:rsa, 2048, 65_537})
    pem = :public_key.pem_encode([:public_key.pem_entry_encode(:PrivateKeyInfo, key)])
    email = "bench@bench-proj.iam.gserviceaccount.com"
    Switchboard.Mock.add_google_key(mock, %{"client_email" => email, "private_key" => pem})

    vertex =
      Switchboard.Registry.new!(%{
        clients: [
          %{
            name: "Vertex",
            provider: "vertex-ai",
            options: %{
              model: "gemini-2.5-flash",
              location: "us-central1",
              base_url: Switchboard.Mock.base_url(mock, "vertex") <> "/v1",
              credentials: %{
                "type" => "service_account",
                "project_id" => "bench-proj",
                "client_email" => email,
                "private_key" => pem,
                "token_uri" => Switchboard.Mock.base_url(mock, "token") <> "/token"
              }
            }
          }
        ]
      })

    # Cold: every one of the first calls needs the token at once.
    {micros, _} =
      :timer.tc(fn ->
        calls = for _ <- 1..in_flight, do: Switchboard.async(vertex, "hi")
        Enum.each(calls, fn c -> {:ok, _} = Switchboard.await(c, 60_000) end)
      end)

    tokens = length(Switchboard.Mock.requests(mock, "token"))

    IO.puts(
      "vertex-ai cold start: #{in_flight} concurrent calls made #{tokens} token request(s), " <>
        "all answered in #{div(micros, 1000)} ms"
    )

    measure("vertex-ai (OAuth, cached token)", vertex, total, in_flight)
    IO.puts("token requests in all: #{length(Switchboard.Mock.requests(mock, "token"))}")
    Switchboard.Mock.stop(mock)
  end

  defp measure(label, reg, total, in_flight) do
    # Warm the connection pool.
    drive(reg, 500, in_flight)
    :erlang.statistics(:runtime)
    {micros, ok} = :timer.tc(fn -> drive(reg, total, in_flight) end)
    {_, cpu_ms} = :erlang.statistics(:runtime)
    secs = micros / 1_000_000

    IO.puts(
      "#{label}: #{total} calls, #{in_flight} in flight: #{round(total / secs)} calls/s " <>
        "(#{Float.round(secs, 2)} s, #{ok} ok, BEAM CPU #{cpu_ms} ms)"
    )
  end

  # Keeps `in_flight` calls outstanding until `total` have answered.
  defp drive(reg, total, in_flight) do
    start = min(in_flight, total)
    for i <- 1..start, do: Switchboard.async(reg, "question #{i}")
    loop(reg, total, start, 0)
  end

  defp loop(_reg, total, _started, done) when done == total, do: done

  defp loop(reg, total, started, done) do
    receive do
      {ref, {:ok, _}} when is_reference(ref) ->
        started =
          if started < total, do: Switchboard.async(reg, "q") && started + 1, else: started

        loop(reg, total, started, done + 1)

      {ref, {:error, e}} when is_reference(ref) ->
        raise e
    end
  end
end

[total, in_flight] =
  case System.argv() do
    [t, c] -> [String.to_integer(t), String.to_integer(c)]
    [t] -> [String.to_integer(t), 100]
    [] -> [10_000, 100]
  end

Bench.GoogleThroughput.run(total, in_flight)
