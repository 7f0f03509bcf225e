package docker

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		command string
		ok      bool
		want    Spec // Program, runEnd and unset fields are not compared
	}{
		// Flags with values, so that the image is found right.
		{`docker run -d --name web -p 80:80 nginx`, true, Spec{Name: "web", Detached: true, Image: "nginx"}},
		{`docker run --name=web nginx:1.25 nginx -g 'daemon off;'`, true,
			Spec{Name: "web", Image: "nginx:1.25", Args: []string{"nginx", "-g", "daemon off;"}}},
		{`docker run -e "A=b c" -v a:b --network none -w /app --entrypoint sh -u 1000 --label x=y img arg`, true,
			Spec{Image: "img", Args: []string{"arg"}}},
		{`docker run -p80:80 -eA=b -vdata:/x img`, true, Spec{Image: "img"}},
		{`docker run -v data:/x img`, true, Spec{Image: "img"}},
		{`docker run -h host -m 1g -c 512 --cpus 1.5 --restart unless-stopped --env-file .env img`, true, Spec{Image: "img"}},
		{`docker run --mount type=bind,src=/a,dst=/b --add-host h:1.2.3.4 --ulimit nofile=1024 img sh -c 'echo hi'`, true,
			Spec{Image: "img", Args: []string{"sh", "-c", "echo hi"}}},
		// Switches, bundled or not.
		{`docker run --rm -dit alpine sh`, true, Spec{Remove: true, Detached: true, Image: "alpine", Args: []string{"sh"}}},
		{`docker run -it --rm ubuntu bash`, true, Spec{Remove: true, Image: "ubuntu", Args: []string{"bash"}}},
		{`docker run --detach busybox`, true, Spec{Detached: true, Image: "busybox"}},
		{`docker run --detach=false busybox`, true, Spec{Image: "busybox"}},
		{`docker run --rm=true --init -P busybox`, true, Spec{Remove: true, Image: "busybox"}},
		{`docker run -dp 8080:80 img`, true, Spec{Detached: true, Image: "img"}},
		{`docker run -itp8080:80 img`, true, Spec{Image: "img"}},
		{`docker run -d -- img -x`, true, Spec{Detached: true, Image: "img", Args: []string{"-x"}}},
		// Quoting.
		{`docker run --name "my web" img`, true, Spec{Name: "my web", Image: "img"}},
		{`docker run --name we\ b img`, true, Spec{Name: "we b", Image: "img"}},
		{`docker run -e "A=\"q\" \$x" img 'it'"'"'s'`, true, Spec{Image: "img", Args: []string{"it's"}}},
		{`docker run -e X=$(date +%s "a b") img`, true, Spec{Image: "img"}},
		{"docker run -e X=`date +%s` img", true, Spec{Image: "img"}},
		{`docker run -e "X=${HOME:-/a b}" img`, true, Spec{Image: "img"}},
		{"docker run \\\n  -d \\\n  img", true, Spec{Detached: true, Image: "img"}},
		{`docker run img # a comment`, true, Spec{Image: "img"}},
		{`"docker" 'run' img`, true, Spec{Image: "img"}},
		// Labels.
		{`docker run -l bgrun.name=api img`, true, Spec{LabelName: "api", Image: "img"}},
		{`docker run --label=bgrun.name=api img`, true, Spec{LabelName: "api", Image: "img"}},
		{`docker run --label 'bgrun.name=my app' img`, true, Spec{LabelName: "my app", Image: "img"}},
		// Other forms of the program.
		{`docker container run -d redis`, true, Spec{Detached: true, Image: "redis"}},
		{`sudo docker run -d img`, true, Spec{Detached: true, Image: "img"}},
		{`sudo -u root -E docker run img`, true, Spec{Image: "img"}},
		{`exec docker run img`, true, Spec{Image: "img"}},
		{`FOO=1 BAR="x y" docker run img`, true, Spec{Image: "img"}},
		{`env -i A=b docker run img`, true, Spec{Image: "img"}},
		{`nohup timeout -s INT 10m docker run img`, true, Spec{Image: "img"}},
		{`/usr/bin/docker run img`, true, Spec{Image: "img"}},
		{`docker.exe run img`, true, Spec{Image: "img"}},
		{`cd /app && docker run img`, true, Spec{Image: "img"}},
		{`docker --context prod -D run img`, true, Spec{Image: "img"}},
		{`docker -H unix:///x.sock run img`, true, Spec{Image: "img"}},
		{`docker run img >log 2>&1 &`, true, Spec{Image: "img"}},
		{`docker run img 2> err.txt; echo done`, true, Spec{Image: "img"}},
		{`if true; then docker run img; fi`, true, Spec{Image: "img"}},
		// Compose.
		{`docker compose up`, true, Spec{Compose: true, ComposeArgs: []string{"compose"}}},
		{`docker compose up -d`, true, Spec{Compose: true, Detached: true, ComposeArgs: []string{"compose"}}},
		{`docker-compose -f dev/dev.yml -p myapp up --scale web=2 web db`, true,
			Spec{Compose: true, Name: "myapp", ProjectDir: "dev", Args: []string{"web", "db"},
				ComposeArgs: []string{"-f", "dev/dev.yml", "-p", "myapp"}}},
		{`docker compose --project-directory ./svc up --detach`, true,
			Spec{Compose: true, Detached: true, ProjectDir: "./svc", ComposeArgs: []string{"compose", "--project-directory", "./svc"}}},
		{`docker --context x compose --project-name=p up`, true,
			Spec{Compose: true, Name: "p", ComposeArgs: []string{"--context", "x", "compose", "--project-name=p"}}},
		{`sudo docker-compose up`, true, Spec{Compose: true, ComposeArgs: []string{}}},
		// Not a container run.
		{`echo docker run img`, false, Spec{}},
		{`docker ps -a`, false, Spec{}},
		{`docker build -t x .`, false, Spec{}},
		{`docker-compose down`, false, Spec{}},
		{`docker compose logs -f`, false, Spec{}},
		{`command -v docker run`, false, Spec{}},
		{`npm start`, false, Spec{}},
		{``, false, Spec{}},
		{`   `, false, Spec{}},
		{`docker`, false, Spec{}},
		{`docker run`, false, Spec{}},
		{`docker run -d`, false, Spec{}},
		{`docker run --name`, false, Spec{}},
		{`docker run -p`, false, Spec{}},
		{`docker container ls`, false, Spec{}},
		{`# docker run img`, false, Spec{}},
		{`my-docker run img`, false, Spec{}},
		// Malformed: sh would refuse these too.
		{`docker run "img`, false, Spec{}},
		{`docker run 'img`, false, Spec{}},
		{`docker run img $(echo`, false, Spec{}},
		{"docker run img `echo", false, Spec{}},
		{`docker run img "${x`, false, Spec{}},
		{`docker run img \`, true, Spec{Image: "img", Args: []string{`\`}}},
	}
	for _, tt := range tests {
		got, ok := Parse(tt.command)
		if ok != tt.ok {
			t.Errorf("Parse(%q) ok = %v, want %v (spec %+v)", tt.command, ok, tt.ok, got)
			continue
		}
		if IsDocker(tt.command) != ok {
			t.Errorf("IsDocker(%q) = %v, Parse ok = %v", tt.command, !ok, ok)
		}
		if !ok {
			continue
		}
		got.runEnd = 0
		if got.Program == "" {
			t.Errorf("Parse(%q): empty Program", tt.command)
		}
		got.Program = ""
		if len(got.Args) == 0 {
			got.Args = nil
		}
		want := tt.want
		if want.Compose && want.ComposeArgs == nil {
			want.ComposeArgs = []string{}
		}
		if got.Compose && len(got.ComposeArgs) == 0 {
			got.ComposeArgs = []string{}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%q)\n got %+v\nwant %+v", tt.command, got, want)
		}
	}
}

func TestParseProgram(t *testing.T) {
	for command, want := range map[string]string{
		`docker run img`:        "docker",
		`docker compose up`:     "docker",
		`docker-compose up`:     "docker-compose",
		`docker-compose.exe up`: "docker-compose",
	} {
		spec, ok := Parse(command)
		if !ok || spec.Program != want {
			t.Errorf("Parse(%q) Program = %q, %v; want %q", command, spec.Program, ok, want)
		}
	}
}

func TestLabel(t *testing.T) {
	tests := []struct {
		command, record, want string
	}{
		{`docker run -d img`, "api", `docker run --label bgrun.name=api -d img`},
		{`docker run img`, "api", `docker run --label bgrun.name=api img`},
		{`sudo docker run -d img`, "api", `sudo docker run --label bgrun.name=api -d img`},
		{`docker container run img`, "api", `docker container run --label bgrun.name=api img`},
		{`"docker" "run" img`, "api", `"docker" "run" --label bgrun.name=api img`},
		{`cd /x && docker run img >log`, "api", `cd /x && docker run --label bgrun.name=api img >log`},
		{`docker run -d img`, "my app", `docker run --label 'bgrun.name=my app' -d img`},
		{`docker run -d img`, "it's", `docker run --label 'bgrun.name=it'\''s' -d img`},
		{`docker run -d img`, "$(rm -rf /)", `docker run --label 'bgrun.name=$(rm -rf /)' -d img`},
		// Unchanged: a name or a label is already there, or no container run.
		{`docker run --name web img`, "api", `docker run --name web img`},
		{`docker run --name=web img`, "api", `docker run --name=web img`},
		{`docker run --label bgrun.name=old img`, "api", `docker run --label bgrun.name=old img`},
		{`docker compose up`, "api", `docker compose up`},
		{`echo docker run img`, "api", `echo docker run img`},
		{`docker run "img`, "api", `docker run "img`},
		{`docker run img`, "", `docker run img`},
	}
	for _, tt := range tests {
		got := Label(tt.command, tt.record)
		if got != tt.want {
			t.Errorf("Label(%q, %q)\n got %s\nwant %s", tt.command, tt.record, got, tt.want)
		}
		if again := Label(got, tt.record); again != got {
			t.Errorf("Label is not idempotent on %q: %s", got, again)
		}
		if got != tt.command {
			spec, ok := Parse(got)
			if !ok || spec.LabelName != tt.record {
				t.Errorf("Parse(%q) LabelName = %q, %v; want %q", got, spec.LabelName, ok, tt.record)
			}
		}
	}
}

func TestShellQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"a", "a b", "it's", `"`, `\`, "$HOME", "a\nb", "''", "x=y,z:1/2@3%+-_."} {
		toks, err := lex(shellQuote(s))
		if err != nil || len(toks) != 1 || toks[0].word != s {
			t.Errorf("lex(shellQuote(%q)) = %+v, %v", s, toks, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`docker run -d --name web -p 80:80 nginx`,
		`docker run --rm -dit -e "A=b c" img sh -c 'echo $X'`,
		`sudo FOO=1 docker container run -l bgrun.name=x img`,
		`docker compose -f a/b.yml up -d web`,
		`docker-compose up`,
		"docker run -e X=$(date \"+%s\") img `id` >log 2>&1 &",
		`docker run "img`,
		`echo docker run img; docker run img2 # c`,
		"docker run \\\nimg",
	} {
		f.Add(s, "api")
	}
	f.Add(`docker run img`, "it's a 'name'")
	f.Fuzz(func(t *testing.T, command, record string) {
		spec, ok := Parse(command)
		if IsDocker(command) != ok {
			t.Fatalf("IsDocker disagrees with Parse on %q", command)
		}
		labelled := Label(command, record)
		if again := Label(labelled, record); again != labelled {
			t.Fatalf("Label not idempotent:\n command %q\n once    %q\n twice   %q", command, labelled, again)
		}
		if labelled == command {
			return
		}
		if !ok || spec.Name != "" || spec.Compose {
			t.Fatalf("Label changed %q, which has no unnamed docker run", command)
		}
		got, ok := Parse(labelled)
		if !ok || got.LabelName != record || got.Image != spec.Image || !reflect.DeepEqual(got.Args, spec.Args) {
			t.Fatalf("Parse(Label(%q, %q)) = %+v, %v; want label %q, image %q, args %q",
				command, record, got, ok, record, spec.Image, spec.Args)
		}
		if !strings.HasPrefix(labelled, command[:spec.runEnd]) {
			t.Fatalf("Label changed the text before `run`: %q", labelled)
		}
	})
}
