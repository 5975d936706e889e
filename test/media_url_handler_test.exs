defmodule Switchboard.MediaUrlHandlerTest do
  @moduledoc """
  `media_url_handler` over real HTTP: media parts by URL sent as URLs, with
  a media type, or fetched from the mock's `/media/` files and sent inline,
  per mode and per provider default; the exact request bodies the mock
  records, how often the media was fetched, and fetch failures as attempt
  errors (retried, fallen back from, timed out, cancelled).
  """
  use Switchboard.Case, async: true

  # The default media URL serves "PNG" as image/png: "UE5H" in base64.
  # A media scenario of its own, so its requests are the fetches alone.
  defp media_url(msc, name, query \\ "type=image/png&body=PNG"),
    do: Mock.base_url(mock(), msc) <> "/media/" <> name <> "?" <> query

  defp fetches(msc), do: Enum.filter(requests(msc), &String.starts_with?(&1["path"], "/media/"))

  defp client(dialect, sc, options) do
    base = dialect_client("C", dialect, sc)
    update_in(base.options, &Map.merge(&1, options))
  end

  defp image(url, extra \\ %{}),
    do: [%{role: "user", content: [Map.merge(%{type: "image", url: url}, extra)]}]

  defp document(url, extra \\ %{}),
    do: [%{role: "user", content: [Map.merge(%{type: "document", url: url}, extra)]}]

  # The one part the provider request carried, as the dialect writes it.
  defp sent_part(dialect, options, prompt) do
    sc = scripted([%{}])
    reg = registry!(%{clients: [client(dialect, sc, options)]})
    assert {:ok, %Response{}} = Switchboard.call(reg, prompt)
    assert [%{"json" => body}] = requests(sc)
    part_of(dialect, body)
  end

  defp part_of(d, body) when d in ~w(openai anthropic vertex-claude),
    do: body["messages"] |> hd() |> Map.fetch!("content") |> hd()

  defp part_of(d, body) when d in ~w(google-ai vertex-gemini),
    do: body["contents"] |> hd() |> Map.fetch!("parts") |> hd()

  defp part_of("aws-bedrock", body), do: body["messages"] |> hd() |> Map.fetch!("content") |> hd()

  defp part_of("openai-responses", body),
    do: body["input"] |> hd() |> Map.fetch!("content") |> hd()

  describe "send_base64: fetched once and sent inline" do
    @inline %{
      "openai" => %{
        "type" => "image_url",
        "image_url" => %{"url" => "data:image/png;base64,UE5H"}
      },
      "anthropic" => %{
        "type" => "image",
        "source" => %{"type" => "base64", "media_type" => "image/png", "data" => "UE5H"}
      },
      "vertex-claude" => %{
        "type" => "image",
        "source" => %{"type" => "base64", "media_type" => "image/png", "data" => "UE5H"}
      },
      "google-ai" => %{"inlineData" => %{"mimeType" => "image/png", "data" => "UE5H"}},
      "vertex-gemini" => %{"inlineData" => %{"mimeType" => "image/png", "data" => "UE5H"}},
      "aws-bedrock" => %{"image" => %{"format" => "png", "source" => %{"bytes" => "UE5H"}}},
      "openai-responses" => %{
        "type" => "input_image",
        "image_url" => "data:image/png;base64,UE5H",
        "detail" => "auto"
      }
    }

    for {dialect, wire} <- @inline do
      test "#{dialect}: an image" do
        msc = scenario("m")
        url = media_url(msc, "pic")
        opts = %{media_url_handler: %{image: "send_base64"}}
        assert sent_part(unquote(dialect), opts, image(url)) == unquote(Macro.escape(wire))
        assert [%{"method" => "GET", "path" => "/media/pic"}] = fetches(msc)
      end
    end

    test "aws-bedrock (its default): a document, typed by its Content-Type" do
      msc = scenario("m")
      url = media_url(msc, "doc", "type=application/pdf&body=%25PDF")

      assert sent_part("aws-bedrock", %{}, document(url)) == %{
               "document" => %{
                 "format" => "pdf",
                 "name" => "document",
                 "source" => %{"bytes" => Base.encode64("%PDF")}
               }
             }

      assert [_] = fetches(msc)
    end

    test "anthropic: a document; the part's media type wins over the server's" do
      msc = scenario("m")
      url = media_url(msc, "doc", "type=text/plain&body=%25PDF")
      opts = %{media_url_handler: %{pdf: :send_base64}}

      assert sent_part("anthropic", opts, document(url, %{media_type: "application/pdf"})) == %{
               "type" => "document",
               "source" => %{
                 "type" => "base64",
                 "media_type" => "application/pdf",
                 "data" => Base.encode64("%PDF")
               }
             }
    end

    test "no Content-Type: the extension's type" do
      msc = scenario("m")
      url = media_url(msc, "photo.jpg", "")
      opts = %{media_url_handler: %{image: "send_base64"}}

      assert sent_part("google-ai", opts, image(url)) == %{
               "inlineData" => %{
                 "mimeType" => "image/jpeg",
                 "data" => Base.encode64("media:photo.jpg")
               }
             }
    end

    test "redirects are followed" do
      msc = scenario("m")
      url = media_url(msc, "pic", "redirect=3&type=image/png&body=PNG")
      opts = %{media_url_handler: %{image: "send_base64"}}

      assert %{"image_url" => %{"url" => "data:image/png;base64,UE5H"}} =
               sent_part("openai", opts, image(url))

      assert [3, 2, 1, 0] ==
               Enum.map(
                 fetches(msc),
                 &(URI.decode_query(&1["query"])["redirect"] |> String.to_integer())
               )
    end

    test "a stream fetches too" do
      msc = scenario("m")
      sc = scripted([%{}])
      reg = registry!(%{clients: [client("aws-bedrock", sc, %{})]})
      chunks = Enum.to_list(Switchboard.stream(reg, image(media_url(msc, "pic"))))
      assert [_ | _] = chunks
      assert [%{"json" => body}] = requests(sc)

      assert part_of("aws-bedrock", body) == %{
               "image" => %{"format" => "png", "source" => %{"bytes" => "UE5H"}}
             }

      assert [_] = fetches(msc)
    end
  end

  describe "send_url" do
    test "openai (its default): the image's URL as is, never fetched" do
      msc = scenario("m")
      url = media_url(msc, "pic")

      assert sent_part("openai", %{}, image(url)) == %{
               "type" => "image_url",
               "image_url" => %{"url" => url}
             }

      assert fetches(msc) == []
    end

    test "anthropic and vertex-claude (their default for images): a URL source" do
      msc = scenario("m")
      url = media_url(msc, "cat.png", "")

      for dialect <- ["anthropic", "vertex-claude"] do
        assert sent_part(dialect, %{}, image(url)) ==
                 %{"type" => "image", "source" => %{"type" => "url", "url" => url}}
      end

      assert fetches(msc) == []
    end

    test "anthropic, send_url for documents: a document URL source" do
      msc = scenario("m")
      url = media_url(msc, "doc.pdf", "")
      opts = %{media_url_handler: %{pdf: "send_url"}}

      assert sent_part("anthropic", opts, document(url)) ==
               %{"type" => "document", "source" => %{"type" => "url", "url" => url}}

      assert fetches(msc) == []
    end

    test "google-ai (its default for documents): fileData, never fetched" do
      msc = scenario("m")
      url = media_url(msc, "report.pdf", "")

      assert sent_part("google-ai", %{}, document(url)) ==
               %{"fileData" => %{"mimeType" => "application/pdf", "fileUri" => url}}

      assert fetches(msc) == []
    end

    test "openai-responses: a document is an input_file by file_url" do
      msc = scenario("m")
      url = media_url(msc, "doc.pdf", "")

      assert sent_part("openai-responses", %{}, document(url)) == %{
               "type" => "input_file",
               "file_url" => url
             }

      assert fetches(msc) == []
    end

    test "google-ai: fileData with the part's media type" do
      msc = scenario("m")
      url = media_url(msc, "pic", "")
      opts = %{media_url_handler: %{"image" => "send_url"}}

      assert sent_part("google-ai", opts, image(url, %{media_type: "image/webp"})) ==
               %{"fileData" => %{"mimeType" => "image/webp", "fileUri" => url}}

      assert fetches(msc) == []
    end

    test "a dialect that takes no such URL refuses it, naming the setting, before sending" do
      msc = scenario("m")
      url = media_url(msc, "doc.pdf", "sig=SECRET")

      for {dialect, options, prompt, setting} <- [
            {"openai", %{}, document(url), ~s(media_url_handler: %{pdf: "send_base64"})},
            {"aws-bedrock", %{media_url_handler: %{image: "send_url"}}, image(url),
             ~s(media_url_handler: %{image: "send_base64"})}
          ] do
        sc = scripted([%{}])
        reg = registry!(%{clients: [client(dialect, sc, options)]})

        assert {:error, %Error{kind: :invalid_request, message: m}} =
                 Switchboard.call(reg, prompt)

        assert m =~ setting
        assert m =~ "/media/doc.pdf"
        refute m =~ "SECRET"
        assert requests(sc) == []
      end

      assert fetches(msc) == []
    end
  end

  describe "send_url_add_mime_type on other dialects" do
    test "the URL is sent; fetched once only to learn its type" do
      for dialect <- ~w(openai anthropic google-ai) do
        msc = scenario("m")
        url = media_url(msc, "pic", "type=image/gif")
        opts = %{media_url_handler: %{image: "send_url_add_mime_type"}}

        expected =
          case dialect do
            "openai" -> %{"type" => "image_url", "image_url" => %{"url" => url}}
            "anthropic" -> %{"type" => "image", "source" => %{"type" => "url", "url" => url}}
            "google-ai" -> %{"fileData" => %{"mimeType" => "image/gif", "fileUri" => url}}
          end

        assert sent_part(dialect, opts, image(url)) == expected
        assert [_] = fetches(msc)
      end
    end
  end

  test "anthropic and vertex-claude (their default for documents, send_base64): fetched inline" do
    for dialect <- ["anthropic", "vertex-claude"] do
      msc = scenario("m")
      url = media_url(msc, "doc.pdf", "type=application/pdf&body=PDF")

      assert sent_part(dialect, %{}, document(url)) == %{
               "type" => "document",
               "source" => %{
                 "type" => "base64",
                 "media_type" => "application/pdf",
                 "data" => "UERG"
               }
             }

      assert [_] = fetches(msc)
    end
  end

  test "vertex-gemini (its default for documents, send_url): fileData typed as a PDF" do
    msc = scenario("m")
    url = media_url(msc, "report", "")

    assert sent_part("vertex-gemini", %{}, document(url)) ==
             %{"fileData" => %{"mimeType" => "application/pdf", "fileUri" => url}}

    assert fetches(msc) == []
  end

  test "vertex-gemini, send_base64_unless_google_url: gs:// kept, https fetched" do
    opts = %{media_url_handler: %{image: "send_base64_unless_google_url"}}

    assert sent_part("vertex-gemini", opts, image("gs://bucket/cat.webp")) ==
             %{"fileData" => %{"mimeType" => "image/webp", "fileUri" => "gs://bucket/cat.webp"}}

    msc = scenario("m")

    assert sent_part("vertex-gemini", opts, image(media_url(msc, "pic"))) ==
             %{"inlineData" => %{"mimeType" => "image/png", "data" => "UE5H"}}

    assert [_] = fetches(msc)
  end

  describe "send_url_add_mime_type (vertex gemini's default for images)" do
    test "no type on the part or the URL: fetched once for its Content-Type" do
      msc = scenario("m")
      url = media_url(msc, "pic", "type=image/webp")

      assert sent_part("vertex-gemini", %{}, image(url)) ==
               %{"fileData" => %{"mimeType" => "image/webp", "fileUri" => url}}

      assert [_] = fetches(msc)
    end

    test "the extension tells it: not fetched" do
      msc = scenario("m")
      url = media_url(msc, "pic.png", "")

      assert sent_part("vertex-gemini", %{}, image(url)) ==
               %{"fileData" => %{"mimeType" => "image/png", "fileUri" => url}}

      assert fetches(msc) == []
    end

    test "no media type anywhere: :invalid_request, nothing sent to the provider" do
      msc = scenario("m")
      sc = scripted([%{}])
      reg = registry!(%{clients: [client("vertex-gemini", sc, %{})]})

      assert {:error, %Error{kind: :invalid_request, message: m}} =
               Switchboard.call(reg, image(media_url(msc, "pic", "")))

      assert m =~ "media type"
      assert requests(sc) == []
    end
  end

  describe "send_base64_unless_google_url (google-ai's default for images)" do
    test "a gs:// URL is kept; another is fetched" do
      assert sent_part("google-ai", %{}, image("gs://bucket/cat.png")) ==
               %{"fileData" => %{"mimeType" => "image/png", "fileUri" => "gs://bucket/cat.png"}}

      msc = scenario("m")

      assert sent_part("google-ai", %{}, image(media_url(msc, "pic"))) ==
               %{"inlineData" => %{"mimeType" => "image/png", "data" => "UE5H"}}

      assert [_] = fetches(msc)
    end

    test "a gs:// URL on a provider other than Google's is refused" do
      sc = scripted([%{}])
      reg = registry!(%{clients: [client("anthropic", sc, %{})]})

      assert {:error, %Error{kind: :invalid_request, message: m}} =
               Switchboard.call(reg, image("gs://bucket/cat.png"))

      assert m =~ "gs://"
      assert requests(sc) == []
    end
  end

  test "data: URLs are inline, never fetched, whatever the mode" do
    msc = scenario("m")
    opts = %{media_url_handler: %{image: "send_base64"}}

    prompt = [
      %{
        role: "user",
        content: [%{type: "image_url", image_url: %{url: "data:image/png;base64,UE5H"}}]
      }
    ]

    assert sent_part("aws-bedrock", opts, prompt) ==
             %{"image" => %{"format" => "png", "source" => %{"bytes" => "UE5H"}}}

    assert fetches(msc) == []
  end

  describe "a failed fetch is the attempt's error" do
    test "404: :invalid_request naming the part and the URL without its query" do
      msc = scenario("m")
      sc = scripted([%{}])
      reg = registry!(%{clients: [client("aws-bedrock", sc, %{})]})
      url = media_url(msc, "gone.png", "status=404&sig=SECRET")

      assert {:error, %Error{kind: :invalid_request, message: m}} =
               Switchboard.call(reg, image(url))

      assert m =~ "image"
      assert m =~ "/media/gone.png"
      assert m =~ "404"
      refute m =~ "SECRET"
      assert requests(sc) == []
    end

    test "500: retried, then the fallback's next client answers" do
      msc = scenario("m")
      a = scripted([%{}])
      b = scripted([%{}])
      url = media_url(msc, "pic", "status=500")

      clients = [
        Map.put(client("aws-bedrock", a, %{}), :name, "A") |> Map.put(:retry_policy, "Once"),
        openai("B", b)
      ]

      strategy = ["A", "B"]

      reg =
        registry!(%{
          primary: "F",
          clients:
            clients ++ [%{name: "F", provider: "fallback", options: %{strategy: strategy}}],
          retry_policies: %{
            "Once" => %{max_retries: 1, strategy: %{type: "constant_delay", delay_ms: 10}}
          }
        })

      assert {:ok, %Response{client: "B"} = r} = Switchboard.call(reg, image(url))

      assert [
               %Attempt{client: "A", error: %Error{kind: :network}},
               %Attempt{client: "A", error: %Error{kind: :network}},
               %Attempt{client: "B", status: 200}
             ] = r.attempts

      assert length(fetches(msc)) == 2
      assert requests(a) == []
      assert [%{"json" => body}] = requests(b)
      assert part_of("openai", body)["image_url"]["url"] == url
    end

    test "a failing media server is not the provider's failure: the circuit stays closed" do
      msc = scenario("m")
      sc = scripted([%{}])

      opts = %{
        media_url_handler: %{image: "send_base64"},
        circuit_breaker: %{failure_threshold: 1, cooldown_ms: 600_000},
        max_in_flight: 1
      }

      reg = registry!(%{clients: [openai("A", sc, opts)]})

      # 408 and 429 too: a media server asking to wait is worth a retry.
      for status <- [503, 429, 408] do
        assert {:error, %Error{kind: :network, client: "A"}} =
                 Switchboard.call(reg, image(media_url(msc, "pic", "status=#{status}")))
      end

      assert length(fetches(msc)) == 3
      assert %{"A" => %{circuit: :closed, recent_failures: 0}} = Switchboard.Registry.health(reg)
      assert {:ok, %Response{client: "A"}} = Switchboard.call(reg, "hi")
      assert [_] = requests(sc)
    end

    test "a later client of a fallback reuses what was fetched" do
      msc = scenario("m")
      a = scripted([%{status: 500}])
      b = scripted([%{}])

      clients = [
        Map.put(client("aws-bedrock", a, %{}), :name, "A"),
        anthropic("B", b, %{media_url_handler: %{image: "send_base64"}})
      ]

      reg = fallback_registry!(clients)
      assert {:ok, %Response{client: "B"}} = Switchboard.call(reg, image(media_url(msc, "pic")))
      assert [_] = fetches(msc)
      assert [%{"json" => body}] = requests(b)
      assert part_of("anthropic", body)["source"]["data"] == "UE5H"
    end

    test "more than 5 redirects: :invalid_request, after 6 fetches" do
      msc = scenario("m")
      sc = scripted([%{}])
      reg = registry!(%{clients: [client("aws-bedrock", sc, %{})]})
      url = media_url(msc, "loop.png", "redirect=9")

      assert {:error, %Error{kind: :invalid_request, message: m}} =
               Switchboard.call(reg, image(url))

      assert m =~ "more than 5 redirects"
      assert length(fetches(msc)) == 6
      assert requests(sc) == []
    end

    test "larger than 20 MiB: :invalid_request" do
      msc = scenario("m")
      sc = scripted([%{}])
      reg = registry!(%{clients: [client("aws-bedrock", sc, %{})]})
      url = media_url(msc, "big.png", "size=#{20 * 1024 * 1024 + 1}")

      assert {:error, %Error{kind: :invalid_request, message: m}} =
               Switchboard.call(reg, image(url))

      assert m =~ "larger than 20 MiB"
      assert requests(sc) == []
    end

    test "a stalled media server: the call ends :timeout, one terminal message" do
      msc = scenario("m")
      sc = scripted([%{}])
      reg = registry!(%{clients: [client("aws-bedrock", sc, %{})]})

      %Call{ref: ref} =
        Switchboard.async(reg, image(media_url(msc, "pic", "stall=1")), timeout: 500)

      assert_receive {^ref, {:error, %Error{kind: :timeout}}}, 10_000
      refute_receive {^ref, _}, 100
      assert requests(sc) == []
    end

    test "cancelled during the fetch: one :cancelled message, the fetch dropped" do
      msc = scenario("m")
      sc = scripted([%{}])
      reg = registry!(%{clients: [client("aws-bedrock", sc, %{})]})
      %Call{ref: ref} = call = Switchboard.async(reg, image(media_url(msc, "pic", "stall=1")))
      assert :ok = Mock.await_outcome(mock(), msc, 0, "pending", 5_000)
      assert :ok = Switchboard.cancel(call)
      assert_receive {^ref, {:error, %Error{kind: :cancelled}}}, 5_000
      refute_receive {^ref, _}, 100
      assert :ok = Mock.await_outcome(mock(), msc, 0, "client_disconnected", 5_000)
      assert requests(sc) == []
    end

    test "the caller dying during the fetch drops it" do
      msc = scenario("m")
      sc = scripted([%{}])
      reg = registry!(%{clients: [client("aws-bedrock", sc, %{})]})
      prompt = image(media_url(msc, "pic", "stall=1"))

      pid =
        spawn(fn ->
          Switchboard.async(reg, prompt)
          Process.sleep(:infinity)
        end)

      assert :ok = Mock.await_outcome(mock(), msc, 0, "pending", 5_000)
      Process.exit(pid, :kill)
      assert :ok = Mock.await_outcome(mock(), msc, 0, "client_disconnected", 5_000)
      assert requests(sc) == []
    end
  end

  describe "config" do
    test "a bad handler is :config naming the client, the option and the choices" do
      sc = scenario()

      for {bad, says} <- [
            {"send_url", "must be a map"},
            {%{images: "send_url"}, "allowed: image, audio, video, pdf"},
            {%{pdf: "inline"}, "send_base64_unless_google_url"}
          ] do
        config = %{clients: [openai("Vision", sc, %{media_url_handler: bad})]}
        assert {:error, %Error{kind: :config, message: m}} = Switchboard.Registry.new(config)
        assert m =~ ~s(client "Vision")
        assert m =~ "media_url_handler"
        assert m =~ says
      end
    end

    test "audio and video are accepted and apply to no part: such parts stay refused" do
      sc = scripted([%{}])
      opts = %{media_url_handler: %{audio: "send_url", video: "send_base64"}}
      reg = registry!(%{clients: [openai("A", sc, opts)]})
      prompt = [%{role: "user", content: [%{type: "audio", url: "https://x.example/a.mp3"}]}]
      assert {:error, %Error{kind: :invalid_request}} = Switchboard.call(reg, prompt)
      assert requests(sc) == []
    end
  end
end
