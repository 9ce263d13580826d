package config

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// positionMap records the line of every key and sequence item of the YAML
// document by path ("datasets[2].incremental.column"), so validation errors
// can point at the line that is wrong.
type positionMap map[string]int

func positions(root *yaml.Node) positionMap {
	p := positionMap{}
	if len(root.Content) > 0 {
		p.walk("", root.Content[0])
	}
	return p
}

func (p positionMap) walk(path string, n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			child := k.Value
			if path != "" {
				child = path + "." + k.Value
			}
			p[child] = k.Line
			p.walk(child, v)
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			child := fmt.Sprintf("%s[%d]", path, i)
			p[child] = item.Line
			p.walk(child, item)
		}
	}
}

// line returns the line of path, or of its nearest recorded parent.
func (p positionMap) line(path string) int {
	for path != "" {
		if l, ok := p[path]; ok {
			return l
		}
		cut := -1
		for i := len(path) - 1; i >= 0; i-- {
			if path[i] == '.' || path[i] == '[' {
				cut = i
				break
			}
		}
		if cut < 0 {
			break
		}
		path = path[:cut]
	}
	return 0
}

// section returns the top-level key whose value holds line: the last one
// that starts on or before it ("" before the first).
func (p positionMap) section(line int) string {
	best, bestLine := "", 0
	for path, l := range p {
		if strings.ContainsAny(path, ".[") || l > line || l < bestLine {
			continue
		}
		if l > bestLine || path < best {
			best, bestLine = path, l
		}
	}
	return best
}
