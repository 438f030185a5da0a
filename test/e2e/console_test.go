package e2e

// The Berth Console: a person opens http://<berth>/console/ and sees what
// the API answers. A repository with a pushed, scanned image and an ECS
// service of 2 tasks running real containers that log through awslogs are
// made with the aws CLI and go-containerregistry; the console's pages show
// the same names, counts, task ids, log lines, tags, digests and findings
// that `aws ecs describe-services` and `aws ecr describe-image-scan-findings`
// print. With credentials configured it asks for an access key (HTTP
// Basic) and shows that key's account only.

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/test/harness"
)

// consoleGet GETs a console page (path and query under /console/) with
// optional basic credentials and returns the status and the body.
func consoleGet(t *testing.T, b *harness.Berth, page, user, pw string) (int, string) {
	t.Helper()
	return consoleDo(t, http.MethodGet, b.Endpoint()+"/console/"+page, user, pw)
}

func consoleDo(t *testing.T, method, u, user, pw string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pw)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// consolePage GETs a page that must answer 200.
func consolePage(t *testing.T, b *harness.Berth, page string) string {
	t.Helper()
	code, body := consoleGet(t, b, page, "", "")
	if code != http.StatusOK {
		t.Fatalf("GET /console/%s: %d\n%s", page, code, body)
	}
	return body
}

// consoleWaitFor GETs a page until its body has every one of want.
func consoleWaitFor(t *testing.T, b *harness.Berth, page string, d time.Duration, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		body := consolePage(t, b, page)
		missing := ""
		for _, w := range want {
			if !strings.Contains(body, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("/console/%s lacks %q after %s:\n%s", page, missing, d, body)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func TestConsoleShowsWhatTheAPIAnswers(t *testing.T) {
	t.Parallel()
	harness.RequireDocker(t)
	fixtures := filepath.Join(t.TempDir(), "fixtures")
	writeRecords(t, fixtures, map[string]string{"DEBIAN-CVE-2024-0727.json": debianOpenSSL})
	b := harness.Start(t, harness.WithArgs("--vuln-db", fixtures))

	// A scanned image: its findings come from the Debian package database
	// in its layer.
	scanRepo := uniqueName("console/scan")
	b.AWS(t, "ecr", "create-repository", "--repository-name", scanRepo).Must(t)
	scanDigest := pushImage(t, b.RegistryHost()+"/"+scanRepo+":v1", imageOf(t, debianBase(t)), registryAuth(t, b))
	b.AWS(t, "ecr", "start-image-scan", "--repository-name", scanRepo, "--image-id", "imageTag=v1").Must(t)
	scan := waitScan(t, b, scanRepo, "v1", "COMPLETE", "FAILED")
	if scan.ImageScanStatus.Status != "COMPLETE" || len(scan.ImageScanFindings.Findings) == 0 {
		t.Fatalf("scan: %+v", scan)
	}

	// The service's image.
	appRepo := uniqueName("console/app")
	appURI := createRepo(t, b, appRepo) + ":v1"
	appDigest := pushImage(t, appURI, harness.TestImage(t, "console"), registryAuth(t, b))
	t.Cleanup(func() { harness.Docker(t, "rmi", appURI) })

	// An ECS service of 2 tasks whose containers log through awslogs.
	b.AWS(t, "ecs", "create-cluster", "--cluster-name", "console-demo").Must(t)
	b.AWS(t, "ecs", "register-task-definition", "--cli-input-json", fmt.Sprintf(`{"family": "web", "containerDefinitions": [{
  "name": "web", "image": %q, "memory": 64, "command": ["serve"],
  "portMappings": [{"containerPort": 8080}],
  "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/console",
    "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web", "awslogs-create-group": "true"}}}]}`, appURI)).Must(t)
	// Behind a load balancer whose health checks pass.
	subnets := defaultSubnets(t, b)
	var lb struct {
		LoadBalancers []struct{ LoadBalancerArn string }
	}
	b.AWS(t, "elbv2", "create-load-balancer", "--name", "console-lb", "--subnets", subnets[0], subnets[1]).Must(t).JSON(t, &lb)
	var tg struct {
		TargetGroups []struct{ TargetGroupArn string }
	}
	b.AWS(t, "elbv2", "create-target-group", "--name", "console-web", "--protocol", "HTTP", "--port", "8080", "--vpc-id", vpcOf(t, b),
		"--target-type", "ip", "--health-check-path", "/health", "--health-check-interval-seconds", "5",
		"--health-check-timeout-seconds", "2", "--healthy-threshold-count", "2").Must(t).JSON(t, &tg)
	tgARN := tg.TargetGroups[0].TargetGroupArn
	port := freeListenerPort(t)
	b.AWS(t, "elbv2", "create-listener", "--load-balancer-arn", lb.LoadBalancers[0].LoadBalancerArn, "--protocol", "HTTP",
		"--port", fmt.Sprint(port), "--default-actions", "Type=forward,TargetGroupArn="+tgARN).Must(t)
	b.AWS(t, "ecs", "create-service", "--cluster", "console-demo", "--service-name", "web",
		"--task-definition", "web", "--desired-count", "2", "--health-check-grace-period-seconds", "60",
		"--load-balancers", "targetGroupArn="+tgARN+",containerName=web,containerPort=8080").Must(t)
	type service struct {
		ServiceName                string
		DesiredCount, RunningCount int
		Deployments                []struct{ RolloutState string }
		Events                     []struct{ Message string }
	}
	describe := func() service {
		var out struct{ Services []service }
		b.AWS(t, "ecs", "describe-services", "--cluster", "console-demo", "--services", "web").Must(t).JSON(t, &out)
		if len(out.Services) != 1 {
			t.Fatalf("describe-services: %+v", out)
		}
		return out.Services[0]
	}
	var tasks []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		var list struct{ TaskArns []string }
		b.AWS(t, "ecs", "list-tasks", "--cluster", "console-demo", "--service-name", "web").Must(t).JSON(t, &list)
		for _, arn := range list.TaskArns {
			if !strings.Contains(strings.Join(tasks, " "), arn) {
				tasks = append(tasks, arn)
				tkCleanup(t, arn)
			}
		}
		s := describe()
		if s.RunningCount == 2 && len(s.Deployments) == 1 && s.Deployments[0].RolloutState == "COMPLETED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service not steady after 60s: %+v", s)
		}
		time.Sleep(time.Second)
	}
	var list struct{ TaskArns []string }
	b.AWS(t, "ecs", "list-tasks", "--cluster", "console-demo", "--service-name", "web").Must(t).JSON(t, &list)
	if len(list.TaskArns) != 2 {
		t.Fatalf("list-tasks: %v", list.TaskArns)
	}
	ids := make([]string, len(list.TaskArns))
	for i, arn := range list.TaskArns {
		ids[i] = arn[strings.LastIndex(arn, "/")+1:]
	}

	// The overview and the cluster list.
	if body := consolePage(t, b, ""); !strings.Contains(body, "ECS clusters") || !strings.Contains(body, "ECR repositories") {
		t.Errorf("overview:\n%s", body)
	}
	if body := consolePage(t, b, "ecs/"); !strings.Contains(body, ">console-demo</a>") {
		t.Errorf("cluster list lacks console-demo:\n%s", body)
	}
	// The cluster: its service and both tasks.
	consoleWaitFor(t, b, "ecs/cluster?cluster=console-demo", 10*time.Second, append([]string{">web</a>"}, ids...)...)

	// The service: its counts as describe-services gives them, its
	// deployment, its events and its tasks.
	body := consolePage(t, b, "ecs/service?cluster=console-demo&service=web")
	s := describe()
	for _, want := range append([]string{
		fmt.Sprintf(`<dd id="running">%d</dd>`, s.RunningCount),
		fmt.Sprintf(`<dd id="desired">%d</dd>`, s.DesiredCount),
		"COMPLETED", html.EscapeString(s.Events[0].Message),
	}, ids...) {
		if !strings.Contains(body, want) {
			t.Errorf("service page lacks %q (describe-services: %+v):\n%s", want, s, body)
		}
	}

	// The service's targets, as describe-target-health gives them.
	var health struct {
		TargetHealthDescriptions []struct {
			Target       struct{ Id string }
			TargetHealth struct{ State string }
		}
	}
	b.AWS(t, "elbv2", "describe-target-health", "--target-group-arn", tgARN).Must(t).JSON(t, &health)
	if len(health.TargetHealthDescriptions) != 2 {
		t.Fatalf("describe-target-health: %+v", health)
	}
	for _, th := range health.TargetHealthDescriptions {
		if th.TargetHealth.State != "healthy" || !strings.Contains(body, ">"+th.Target.Id+"<") {
			t.Errorf("service page lacks target %+v:\n%s", th, body)
		}
	}
	if strings.Count(body, `status s-healthy">healthy<`) != 2 {
		t.Errorf("service page: want 2 healthy targets:\n%s", body)
	}
	body = consolePage(t, b, "elb/lb?name=console-lb")
	for _, want := range []string{"console-web", fmt.Sprintf("<td>%d</td>", port), health.TargetHealthDescriptions[0].Target.Id} {
		if !strings.Contains(body, want) {
			t.Errorf("load balancer page lacks %q:\n%s", want, body)
		}
	}

	// Each task: its status, its container and the line the container
	// printed, read from its awslogs stream.
	line := "testapp console listening on :8080"
	for _, id := range ids {
		body := consoleWaitFor(t, b, "ecs/task?cluster=console-demo&task="+id, 30*time.Second, line)
		for _, want := range []string{id, "RUNNING", appDigest, "web/web/" + id} {
			if !strings.Contains(body, want) {
				t.Errorf("task page %s lacks %q:\n%s", id, want, body)
			}
		}
	}
	// The same lines in Logs, and found by a filter pattern.
	stream := url.Values{"group": {"/ecs/console"}, "stream": {"web/web/" + ids[0]}}.Encode()
	consoleWaitFor(t, b, "logs/stream?"+stream, 10*time.Second, line)
	consoleWaitFor(t, b, "logs/group?name=%2Fecs%2Fconsole&filter=listening", 10*time.Second, line, "web/web/"+ids[1])

	// ECR: the tag and digest of each image, the scan and its findings
	// as describe-image-scan-findings gives them.
	body = consolePage(t, b, "ecr/repository?"+url.Values{"name": {appRepo}}.Encode())
	if !strings.Contains(body, appDigest) || !strings.Contains(body, "<td>v1</td>") {
		t.Errorf("repository page lacks v1 %s:\n%s", appDigest, body)
	}
	body = consolePage(t, b, "ecr/repository?"+url.Values{"name": {scanRepo}}.Encode())
	if !strings.Contains(body, scanDigest) || !strings.Contains(body, "COMPLETE") {
		t.Errorf("scanned repository page:\n%s", body)
	}
	body = consolePage(t, b, "ecr/image?"+url.Values{"repository": {scanRepo}, "digest": {scanDigest}}.Encode())
	for sev, n := range scan.ImageScanFindings.FindingSeverityCounts {
		if want := fmt.Sprintf(`data-severity="%s">%d</td>`, sev, n); !strings.Contains(body, want) {
			t.Errorf("image page lacks %s:\n%s", want, body)
		}
	}
	if want := fmt.Sprintf("Findings (%d)", len(scan.ImageScanFindings.Findings)); !strings.Contains(body, want) {
		t.Errorf("image page lacks %q:\n%s", want, body)
	}
	for _, f := range scan.ImageScanFindings.Findings {
		if !strings.Contains(body, f.Name) || !strings.Contains(body, f.Severity) {
			t.Errorf("image page lacks finding %s %s", f.Name, f.Severity)
		}
	}

	// Unknown resources are 404 pages, bad parameters 400, writes 405.
	for _, page := range []string{"ecs/cluster?cluster=no-such-cluster", "ecs/service?cluster=console-demo&service=nope",
		"ecs/task?cluster=console-demo&task=0123456789abcdef0123456789abcdef", "ecr/repository?name=no/such/repo", "nowhere"} {
		if code, body := consoleGet(t, b, page, "", ""); code != http.StatusNotFound || !strings.Contains(body, "not found") && !strings.Contains(body, "NotFound") {
			t.Errorf("GET /console/%s: %d\n%s", page, code, body)
		}
	}
	for _, page := range []string{"?region=mars", "?account=42", "logs/stream?group=x&stream=y&limit=0"} {
		if code, _ := consoleGet(t, b, page, "", ""); code != http.StatusBadRequest {
			t.Errorf("GET /console/%s: %d, want 400", page, code)
		}
	}
	if code, _ := consoleDo(t, http.MethodPost, b.Endpoint()+"/console/ecs/", "", ""); code != http.StatusMethodNotAllowed {
		t.Errorf("POST /console/ecs/: %d, want 405", code)
	}
	// Another account and another region hold none of it.
	if body := consolePage(t, b, "ecs/?account=111111111111"); strings.Contains(body, "console-demo") {
		t.Errorf("account 111111111111 sees console-demo:\n%s", body)
	}
	if body := consolePage(t, b, "ecr/?region=eu-west-1"); strings.Contains(body, scanRepo) {
		t.Errorf("eu-west-1 sees %s", scanRepo)
	}
}

// With credentials configured the console asks for an access key id and
// its secret, configured or made by IAM, and shows only its account.
func TestConsoleSignIn(t *testing.T) {
	t.Parallel()
	const (
		alice, aliceSecret = "111111111111", "alice-secret"
		bob, bobSecret     = "222222222222", "bob-secret"
	)
	b := harness.Start(t, harness.WithCredentials(alice, aliceSecret), harness.WithArgs("--credentials", bob+":"+bobSecret))
	b.AWS(t, "ecs", "create-cluster", "--cluster-name", "alice-cluster").Must(t)
	b.As(bob, bobSecret).AWS(t, "ecs", "create-cluster", "--cluster-name", "bob-cluster").Must(t)

	code, _ := consoleGet(t, b, "ecs/", "", "")
	if code != http.StatusUnauthorized {
		t.Fatalf("no credentials: %d, want 401", code)
	}
	req, _ := http.NewRequest(http.MethodGet, b.Endpoint()+"/console/", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `Basic realm="Berth"`) {
		t.Errorf("WWW-Authenticate %q", got)
	}
	if code, _ := consoleGet(t, b, "ecs/", alice, "wrong"); code != http.StatusUnauthorized {
		t.Errorf("wrong secret: %d, want 401", code)
	}
	code, body := consoleGet(t, b, "ecs/", alice, aliceSecret)
	if code != http.StatusOK || !strings.Contains(body, "alice-cluster") || strings.Contains(body, "bob-cluster") || !strings.Contains(body, alice) {
		t.Errorf("alice: %d\n%s", code, body)
	}
	code, body = consoleGet(t, b, "ecs/", bob, bobSecret)
	if code != http.StatusOK || !strings.Contains(body, "bob-cluster") || strings.Contains(body, "alice-cluster") {
		t.Errorf("bob: %d\n%s", code, body)
	}
	// A key cannot pick another account.
	if code, _ := consoleGet(t, b, "ecs/?account="+bob, alice, aliceSecret); code != http.StatusForbidden {
		t.Errorf("alice asking for bob's account: %d, want 403", code)
	}

	// EKS and CodeDeploy pages of alice's account, as the API describes
	// them; bob's account has none of it.
	role := "arn:aws:iam::" + alice + ":role/eks-cluster"
	b.AWS(t, "eks", "create-cluster", "--name", "alice-eks", "--role-arn", role, "--resources-vpc-config", "subnetIds=subnet-1").Must(t)
	cl := eksClusterStatus(t, b, "alice-eks", "ACTIVE")
	b.AWS(t, "eks", "create-nodegroup", "--cluster-name", "alice-eks", "--nodegroup-name", "workers", "--node-role", role,
		"--subnets", "subnet-1", "--scaling-config", "minSize=0,maxSize=1,desiredSize=0").Must(t)
	b.AWS(t, "deploy", "create-application", "--application-name", "alice-app", "--compute-platform", "ECS").Must(t)
	code, body = consoleGet(t, b, "eks/cluster?name=alice-eks", alice, aliceSecret)
	for _, want := range []string{"alice-eks", "ACTIVE", fmt.Sprint(cl["version"]), fmt.Sprint(cl["endpoint"]), "workers"} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("EKS cluster page lacks %q: %d\n%s", want, code, body)
		}
	}
	if code, _ := consoleGet(t, b, "eks/cluster?name=alice-eks", bob, bobSecret); code != http.StatusNotFound {
		t.Errorf("bob's EKS cluster page of alice-eks: %d, want 404", code)
	}
	if code, body := consoleGet(t, b, "codedeploy/", alice, aliceSecret); code != http.StatusOK || !strings.Contains(body, ">alice-app</a>") {
		t.Errorf("CodeDeploy applications: %d\n%s", code, body)
	}
	if code, body := consoleGet(t, b, "codedeploy/", bob, bobSecret); code != http.StatusOK || strings.Contains(body, "alice-app") {
		t.Errorf("bob's CodeDeploy applications: %d\n%s", code, body)
	}

	// A key IAM made acts in its user's account; deactivated, it is
	// refused.
	b.AWS(t, "iam", "create-user", "--user-name", "viewer").Must(t)
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}
	b.AWS(t, "iam", "create-access-key", "--user-name", "viewer").Must(t).JSON(t, &key)
	code, body = consoleGet(t, b, "ecs/", key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey)
	if code != http.StatusOK || !strings.Contains(body, "alice-cluster") || strings.Contains(body, "bob-cluster") {
		t.Errorf("IAM user's key: %d\n%s", code, body)
	}
	b.AWS(t, "iam", "update-access-key", "--user-name", "viewer", "--access-key-id", key.AccessKey.AccessKeyId, "--status", "Inactive").Must(t)
	if code, _ := consoleGet(t, b, "ecs/", key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey); code != http.StatusUnauthorized {
		t.Errorf("inactive key: %d, want 401", code)
	}
}
