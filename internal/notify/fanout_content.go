package notify

import (
	texttemplate "text/template"
	"text/template/parse"
)

// The content templates of a fan-out (in_app title, body and url; push
// title and body) are parsed once per event, not once per recipient, and
// one that cannot see the contact (no .contact, no root dot or $) renders
// once per event: its output depends only on the event's data and the
// tenant, which every recipient shares. Kept in the fan-out's fanCtx for
// one run of one event, so nothing outlives the event or crosses nodes.

// contentMemo is one content template of an event's fan-out.
type contentMemo struct {
	t           *texttemplate.Template
	parseErr    error
	contactFree bool // the output cannot depend on the contact
	rendered    bool // out and err hold the contact-free render
	out         string
	err         error
}

// content renders the content template src for one recipient, whose
// template root root() builds (only when the template needs it).
func (fc *fanCtx) content(field, src string, root func() map[string]any) (string, error) {
	key := field + "\x00" + src
	m := fc.contents[key]
	if m == nil {
		m = &contentMemo{}
		m.t, m.parseErr = parseContent(field, src)
		if m.parseErr == nil {
			m.contactFree = contactFree(m.t)
		}
		if fc.contents == nil {
			fc.contents = map[string]*contentMemo{}
		}
		fc.contents[key] = m
	}
	if m.parseErr != nil {
		return "", m.parseErr
	}
	if !m.contactFree {
		return execContent(m.t, root())
	}
	if !m.rendered {
		// The contact part of the root is left out: the template cannot
		// reach it (see contactFree).
		m.out, m.err = execContent(m.t, map[string]any{"data": fc.data, "tenant": fc.tenant})
		m.rendered = true
	}
	return m.out, m.err
}

// contactFree reports whether t's output cannot depend on the root's
// "contact": it names no field "contact" anywhere, uses neither the root
// dot nor $ (the root) outside a with or range over something else, and
// calls no other template. Anything it cannot tell is contact-bound.
func contactFree(t *texttemplate.Template) bool {
	if t.Tree == nil || len(t.Templates()) > 1 {
		return false
	}
	return nodeFree(t.Tree.Root, true)
}

// nodeFree: rootDot says whether dot is the template's root here.
func nodeFree(n parse.Node, rootDot bool) bool {
	switch n := n.(type) {
	case nil:
		return true
	case *parse.ListNode:
		if n == nil {
			return true
		}
		for _, c := range n.Nodes {
			if !nodeFree(c, rootDot) {
				return false
			}
		}
		return true
	case *parse.TextNode, *parse.CommentNode, *parse.BoolNode, *parse.NumberNode, *parse.StringNode, *parse.NilNode,
		*parse.IdentifierNode, *parse.BreakNode, *parse.ContinueNode:
		return true
	case *parse.ActionNode:
		return pipeFree(n.Pipe, rootDot)
	case *parse.PipeNode:
		return pipeFree(n, rootDot)
	case *parse.CommandNode:
		for _, a := range n.Args {
			if !nodeFree(a, rootDot) {
				return false
			}
		}
		return true
	case *parse.DotNode:
		return !rootDot
	case *parse.VariableNode:
		return len(n.Ident) > 0 && n.Ident[0] != "$" && !hasContact(n.Ident[1:])
	case *parse.FieldNode:
		return !hasContact(n.Ident)
	case *parse.ChainNode:
		return !hasContact(n.Field) && nodeFree(n.Node, rootDot)
	case *parse.IfNode:
		return pipeFree(n.Pipe, rootDot) && nodeFree(n.List, rootDot) && nodeFree(n.ElseList, rootDot)
	case *parse.WithNode:
		// Inside, dot is the pipeline's value (contact-free once the
		// pipeline is); in the else branch it is the outer dot.
		return pipeFree(n.Pipe, rootDot) && nodeFree(n.List, false) && nodeFree(n.ElseList, rootDot)
	case *parse.RangeNode:
		return pipeFree(n.Pipe, rootDot) && nodeFree(n.List, false) && nodeFree(n.ElseList, rootDot)
	default: // a template call, or a node this does not know
		return false
	}
}

func pipeFree(p *parse.PipeNode, rootDot bool) bool {
	if p == nil {
		return true
	}
	for _, v := range p.Decl {
		if !nodeFree(v, rootDot) {
			return false
		}
	}
	for _, c := range p.Cmds {
		if !nodeFree(c, rootDot) {
			return false
		}
	}
	return true
}

func hasContact(idents []string) bool {
	for _, s := range idents {
		if s == "contact" {
			return true
		}
	}
	return false
}
