package fargate

import (
	"crypto/sha256"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
)

// NodeName is the name of the attempt-th candidate node for a pod. EKS names
// a Fargate node after the private IP of the pod's ENI
// (fargate-ip-10-0-1-23.us-east-1.compute.internal); Berth's pod IP is only
// known once the node runs the pod, so the address is made from the pod's
// UID instead, which also lets a restarted scheduler find the node it made.
func NodeName(uid types.UID, region string, attempt int) string {
	sum := sha256.Sum256([]byte(string(uid) + "/" + strconv.Itoa(attempt)))
	host := fmt.Sprintf("fargate-ip-10-%d-%d-%d", sum[0], sum[1], 1+int(sum[2])%254)
	if region == "" {
		region = "us-east-1"
	}
	// us-east-1 is the one region whose EC2 hostnames are ec2.internal.
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}

// size is one Fargate configuration: vCPU in thousandths and memory in MiB.
type size struct {
	milliCPU int64
	memMiB   int64
}

// sizes are Fargate's vCPU and memory combinations, smallest first.
var sizes = func() []size {
	var out []size
	add := func(cpu int64, fromGB, toGB, stepGB float64) {
		for gb := fromGB; gb <= toGB; gb += stepGB {
			out = append(out, size{cpu, int64(gb * 1024)})
		}
	}
	out = append(out, size{250, 512}, size{250, 1024}, size{250, 2048})
	add(500, 1, 4, 1)
	add(1000, 2, 8, 1)
	add(2000, 4, 16, 1)
	add(4000, 8, 30, 1)
	add(8000, 16, 60, 4)
	add(16000, 32, 120, 8)
	return out
}()

// kubernetesReserveMiB is what Fargate adds to a pod's memory for the
// kubelet, kube-proxy and containerd.
const kubernetesReserveMiB = 256

// Capacity is the Fargate size a pod gets: the larger of its biggest init
// container's requests and the sum of its containers' requests, plus 256
// MiB of memory, rounded up to the next vCPU and memory combination (the
// smallest, 0.25 vCPU and 0.5 GB, when it requests nothing). It returns the
// node's capacity and the pod's CapacityProvisioned annotation, e.g.
// "0.25vCPU 0.5GB".
func Capacity(pod *corev1.Pod) (corev1.ResourceList, string) {
	var cpu, mem int64 // millicores, bytes
	for _, c := range pod.Spec.Containers {
		cpu += request(c, corev1.ResourceCPU).MilliValue()
		mem += request(c, corev1.ResourceMemory).Value()
	}
	for _, c := range pod.Spec.InitContainers {
		cpu = max(cpu, request(c, corev1.ResourceCPU).MilliValue())
		mem = max(mem, request(c, corev1.ResourceMemory).Value())
	}
	memMiB := (mem+(1<<20)-1)>>20 + kubernetesReserveMiB
	// A pod larger than the largest size gets the largest: Berth's nodes
	// do not enforce the size anyway.
	chosen := sizes[len(sizes)-1]
	for _, s := range sizes {
		if s.milliCPU >= cpu && s.memMiB >= memMiB {
			chosen = s
			break
		}
	}
	list := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(chosen.milliCPU, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(chosen.memMiB<<20, resource.BinarySI),
	}
	return list, fmt.Sprintf("%svCPU %sGB", trim(float64(chosen.milliCPU)/1000), trim(float64(chosen.memMiB)/1024))
}

// request is a container's request for r, or its limit when it sets only
// that (Kubernetes defaults the request to the limit).
func request(c corev1.Container, r corev1.ResourceName) *resource.Quantity {
	if q, ok := c.Resources.Requests[r]; ok {
		return &q
	}
	if q, ok := c.Resources.Limits[r]; ok {
		return &q
	}
	return resource.NewQuantity(0, resource.DecimalSI)
}

func trim(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
