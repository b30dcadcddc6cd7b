package web

// policyRoutes serves policies, acknowledgements and templates (JSON API and pages).
func (s *Server) policyRoutes() []Route {
	return nil
}
